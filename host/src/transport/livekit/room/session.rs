//! A room session's protocol as a sans-I/O machine: signalling, participants, both peer
//! connections, data packets, attributes, audio both ways, token refresh, keepalive and
//! leaving. It never touches a socket or reads the clock.
//!
//! 1. [`RoomSession::new`] with the join response and the addresses of the two UDP sockets
//!    the driver has bound.
//! 2. Drain [`RoomSession::poll_output`] to [`Output::Timeout`]: signals to send on the
//!    WebSocket, datagrams to send on a peer's socket, room events, answers to commands.
//! 3. Feed what happens with [`RoomSession::handle_input`] (a signal, a command, a timeout)
//!    or [`RoomSession::handle_datagram`], with the time; then drain again.
//!
//! [`Output::Finished`] is the last output; the driver closes everything then.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_request::Message as Request;
use proto::signal_response::Message as Response;

use super::audio::{RoomAudio, is_user};
use super::data::{self, LOSSY_LABEL, RELIABLE_LABEL};
use super::error::RoomError;
use super::role::PeerRole;
use super::signal;
use super::transcription::{Speaker, Transcriptions};
use super::{PrimaryState, RoomEvent, Snapshot};
use crate::audio::AudioFrame;
use crate::transport::webrtc::{CandidateInit, Peer, PeerEvent, Transmit};

/// How long leaving waits for written data to be sent: the last events of a session (an
/// error, a goodbye) must not be cut off by the leave that follows them.
pub const LEAVE_FLUSH: Duration = Duration::from_secs(1);
/// LiveKit's ping timeout when a server sends none.
const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(15);

/// Names a command so its answer ([`Output::Done`]) can find the caller.
pub type CommandId = u64;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Publish {
        payload: Vec<u8>,
        topic: String,
        reliable: bool,
    },
    SetAttributes {
        attributes: HashMap<String, String>,
    },
    /// Publish the agent's audio track and listen to a user's microphone (`listen_to`, an
    /// identity, or the first user). Answered once the server has accepted the track.
    StartAudio {
        listen_to: Option<String>,
    },
    /// Publish a transcript as an `lk.transcription` text stream: the user's words (`user`) or
    /// the agent's, stamped `timestamp_ms` since the epoch.
    Transcript {
        user: bool,
        text: String,
        r#final: bool,
        timestamp_ms: i64,
    },
    Leave,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The time asked for by the last [`Output::Timeout`] has come.
    Timeout,
    /// A message from the server (boxed: a join-sized message dwarfs the other inputs).
    Signal(Box<Response>),
    /// The signalling connection closed or broke; the session ends for this reason.
    SignalLost(String),
    /// A caller's command.
    Command(CommandId, Command),
    /// Every handle is gone: nobody can use the room any more.
    HandlesGone,
    /// The agent's next 20 ms of speech (48 kHz mono), sent at once: the voice loop paces it.
    AgentAudio(AudioFrame),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Nothing to do until this time (or the next input).
    Timeout(Instant),
    /// Send on the WebSocket; when `done` names a command, its answer is the send's result.
    Signal {
        message: Request,
        done: Option<CommandId>,
    },
    /// Send on the socket of this peer.
    Transmit {
        role: PeerRole,
        transmit: Transmit,
    },
    Event(RoomEvent),
    /// The next 20 ms of the user's microphone (48 kHz mono), on time.
    Microphone(AudioFrame),
    /// The answer to a command.
    Done {
        id: CommandId,
        result: Result<(), RoomError>,
    },
    /// The primary peer connection's state changed.
    Primary(PrimaryState),
    /// Close the signalling socket (after the signals before this).
    CloseSignalling,
    /// The session is over.
    Finished {
        reason: String,
    },
}

/// What a session starts from.
pub struct SessionSetup {
    pub join: proto::JoinResponse,
    pub snapshot: Snapshot,
    pub publisher_addr: SocketAddr,
    pub subscriber_addr: SocketAddr,
    /// The longest a publish waits for its data channel.
    pub publish_timeout: Duration,
    /// Wall-clock time (since the Unix epoch) at the instant given to `new`: pings carry it.
    pub unix_time: Duration,
}

/// A data packet waiting for its channel to open.
struct Pending {
    label: &'static str,
    /// Data packets sent together (a text stream's header, chunks and trailer).
    packets: Vec<Vec<u8>>,
    deadline: Instant,
    id: CommandId,
}

/// How a session ends: the reason for [`RoomEvent::Disconnected`], and whether to say goodbye.
struct End {
    reason: String,
    leave: Option<CommandId>,
}

impl End {
    fn because(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), leave: None }
    }
}

fn peer_failed(error: impl Into<RoomError>) -> End {
    let error: RoomError = error.into();
    End::because(error.to_string())
}

pub struct RoomSession {
    out: VecDeque<Output>,
    finished: bool,
    /// The time of the last input.
    now: Instant,
    started: (Instant, Duration),
    snapshot: Snapshot,
    snapshot_changed: bool,
    publisher: Peer,
    subscriber: Option<Peer>,
    subscriber_addr: SocketAddr,
    subscriber_primary: bool,
    /// The server lets us publish before the subscriber is up (`fast_publish`).
    fast_publish: bool,
    publish_timeout: Duration,
    pending: Vec<Pending>,
    transcriptions: Transcriptions,
    /// Candidates trickled before their peer exists.
    early_candidates: Vec<CandidateInit>,
    sequence: u32,
    request_id: u32,
    ping_interval: Option<Duration>,
    next_ping: Option<Instant>,
    ping_timeout: Duration,
    /// Set when a ping goes out unanswered; a pong clears it.
    pong_deadline: Option<Instant>,
    /// A leave waiting for the data already written to go out, until this deadline.
    leaving: Option<(CommandId, Instant)>,
    audio: RoomAudio,
    /// `StartAudio` waiting for `track_published`, until this deadline.
    audio_start: Option<(CommandId, Instant)>,
}

impl RoomSession {
    /// A session joined at `now`. Like the Rust SDK, it negotiates the publisher at once when
    /// the server does not lead with the subscriber or allows `fast_publish`; else on the
    /// first publish.
    pub fn new(setup: SessionSetup, now: Instant) -> Result<Self, RoomError> {
        let join = setup.join;
        let seconds = |s: i32| Duration::from_secs(u64::try_from(s).unwrap_or(0));
        let ping_interval = (join.ping_interval > 0).then(|| seconds(join.ping_interval));
        let mut session = Self {
            out: VecDeque::new(),
            finished: false,
            now,
            started: (now, setup.unix_time),
            snapshot: setup.snapshot,
            snapshot_changed: false,
            publisher: Peer::new(PeerRole::Publisher.name(), setup.publisher_addr, now)?
                .with_channels(data::publisher_channels()),
            subscriber: None,
            subscriber_addr: setup.subscriber_addr,
            subscriber_primary: join.subscriber_primary,
            fast_publish: join.fast_publish,
            publish_timeout: setup.publish_timeout,
            pending: Vec::new(),
            transcriptions: Transcriptions::default(),
            early_candidates: Vec::new(),
            sequence: 0,
            request_id: 0,
            next_ping: ping_interval.map(|every| now + every),
            ping_interval,
            ping_timeout: if join.ping_timeout > 0 { seconds(join.ping_timeout) } else { DEFAULT_PING_TIMEOUT },
            pong_deadline: None,
            leaving: None,
            audio: RoomAudio::new(),
            audio_start: None,
        };
        if !session.subscriber_primary || session.fast_publish {
            session.negotiate_publisher();
        }
        session.after_input(Ok(()), now);
        Ok(session)
    }

    pub fn handle_input(&mut self, input: Input, now: Instant) {
        if self.finished {
            return;
        }
        self.now = now;
        let step = match input {
            Input::Timeout => self.on_timeout(now),
            Input::Signal(message) => self.on_signal(*message, now),
            Input::SignalLost(reason) => Err(End::because(reason)),
            Input::Command(id, command) => self.on_command(id, command, now),
            Input::AgentAudio(frame) => {
                self.audio.agent_frame(&frame, &mut self.publisher, now);
                Ok(())
            }
            Input::HandlesGone => Err(End::because("CLIENT_INITIATED")),
        };
        self.after_input(step, now);
    }

    /// A datagram that arrived on the socket of the peer `role` from `source`.
    pub fn handle_datagram(&mut self, role: PeerRole, source: SocketAddr, bytes: &[u8], now: Instant) {
        if self.finished {
            return;
        }
        self.now = now;
        let peer = match role {
            PeerRole::Publisher => Some(&mut self.publisher),
            PeerRole::Subscriber => self.subscriber.as_mut(),
        };
        let step = match peer {
            Some(peer) => peer.receive(now, source, bytes).map_err(peer_failed),
            None => Ok(()),
        };
        self.after_input(step, now);
    }

    pub fn poll_output(&mut self) -> Output {
        if let Some(output) = self.out.pop_front() {
            return output;
        }
        let now = self.now;
        let mut deadline = self.publisher.deadline().unwrap_or(now);
        if let Some(peer) = &self.subscriber {
            deadline = deadline.min(peer.deadline().unwrap_or(now));
        }
        let others = self.pending.iter().map(|p| p.deadline).chain(self.pong_deadline).chain(self.next_ping);
        let audio = self.audio.deadline().into_iter().chain(self.audio_start.map(|(_, by)| by));
        Output::Timeout(others.chain(audio).chain(self.leaving.map(|(_, by)| by)).fold(deadline, Instant::min))
    }

    /// The snapshot the handles read, when it changed since the last call.
    pub fn changed_snapshot(&mut self) -> Option<&Snapshot> {
        std::mem::take(&mut self.snapshot_changed).then_some(&self.snapshot)
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// After every input: drive both peers, expire what waited too long, or end.
    fn after_input(&mut self, step: Result<(), End>, now: Instant) {
        match step.and_then(|()| self.drive(now)) {
            Ok(()) => {}
            Err(end) => self.finish(end, now),
        }
    }

    fn drive(&mut self, now: Instant) -> Result<(), End> {
        if self.pong_deadline.is_some_and(|d| now >= d) {
            return Err(End::because("ping timeout: the server stopped answering"));
        }
        let published = self.publisher.drive(now).map_err(peer_failed)?;
        self.transmit(PeerRole::Publisher);
        for event in published {
            self.on_peer_event(PeerRole::Publisher, event, now)?;
        }
        let subscribed = match self.subscriber.as_mut() {
            Some(peer) => peer.drive(now).map_err(peer_failed)?,
            None => Vec::new(),
        };
        self.transmit(PeerRole::Subscriber);
        for event in subscribed {
            self.on_peer_event(PeerRole::Subscriber, event, now)?;
        }
        let out = &mut self.out;
        self.audio.poll_microphone(now, |frame| out.push_back(Output::Microphone(frame)));
        self.audio.poll_agent(&mut self.publisher, now);
        // Sending on an open channel, or writing audio, queued datagrams; they go out now, not
        // at the next input. str0m sends written media from its poll: drive it again.
        if self.audio.is_started() {
            self.publisher.flush_writes().map_err(peer_failed)?;
        }
        self.transmit(PeerRole::Publisher);
        if let Some((id, by)) = self.audio_start
            && now >= by
        {
            self.audio_start = None;
            let result =
                Err(RoomError::Timeout { what: "publish the agent's audio track", after: self.publish_timeout });
            self.out.push_back(Output::Done { id, result });
        }
        // This runs after every datagram: the rest costs nothing unless something waits.
        if self.pending.iter().any(|p| now >= p.deadline) {
            let (expired, waiting): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| now >= p.deadline);
            self.pending = waiting;
            for pending in expired {
                let after = self.publish_timeout;
                let result = Err(RoomError::Timeout { what: "open the publisher data channel", after });
                self.out.push_back(Output::Done { id: pending.id, result });
            }
        }
        if let Some((id, by)) = self.leaving
            && (now >= by || (self.pending.is_empty() && self.publisher.buffered() == 0))
        {
            self.leaving = None;
            return Err(End { reason: "CLIENT_INITIATED".into(), leave: Some(id) });
        }
        Ok(())
    }

    fn transmit(&mut self, role: PeerRole) {
        let peer = match role {
            PeerRole::Publisher => Some(&mut self.publisher),
            PeerRole::Subscriber => self.subscriber.as_mut(),
        };
        let Some(peer) = peer else { return };
        for transmit in peer.take_transmits() {
            self.out.push_back(Output::Transmit { role, transmit });
        }
    }

    fn signal(&mut self, message: Request) {
        self.out.push_back(Output::Signal { message, done: None });
    }

    fn on_timeout(&mut self, now: Instant) -> Result<(), End> {
        if let (Some(at), Some(every)) = (self.next_ping, self.ping_interval)
            && now >= at
        {
            // Late pings are not caught up: the next one is an interval after this one.
            self.next_ping = Some(if at + every <= now { now + every } else { at + every });
            let unix = self.started.1 + now.saturating_duration_since(self.started.0);
            let ping = proto::Ping { timestamp: i64::try_from(unix.as_millis()).unwrap_or(i64::MAX), rtt: 0 };
            self.pong_deadline.get_or_insert(now + self.ping_timeout);
            self.signal(Request::PingReq(ping));
        }
        Ok(())
    }

    fn on_peer_event(&mut self, role: PeerRole, event: PeerEvent, now: Instant) -> Result<(), End> {
        match (role, event) {
            (_, PeerEvent::Connected) => {
                tracing::debug!(?role, "peer connection up");
                let primary = if self.subscriber_primary { PeerRole::Subscriber } else { PeerRole::Publisher };
                if role == primary {
                    self.out.push_back(Output::Primary(PrimaryState::Connected));
                }
            }
            (_, PeerEvent::Disconnected) => {
                return Err(End::because(format!("the {role:?} peer connection was lost")));
            }
            (PeerRole::Publisher, PeerEvent::ChannelOpen(label)) => self.flush(&label),
            (PeerRole::Subscriber, PeerEvent::ChannelOpen(_)) => {}
            (PeerRole::Subscriber, PeerEvent::Data { label, bytes }) => {
                match data::decode_user(&bytes, label == RELIABLE_LABEL) {
                    Ok(Some(user)) => self.out.push_back(Output::Event(RoomEvent::Data {
                        participant_identity: user.participant_identity,
                        topic: user.topic,
                        payload: user.payload,
                        reliable: user.reliable,
                    })),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "dropped a data packet"),
                }
            }
            (PeerRole::Publisher, PeerEvent::Data { .. }) => {
                tracing::debug!("data on the publisher connection ignored (the server sends on the subscriber)");
            }
            (PeerRole::Subscriber, PeerEvent::TrackAdded { mid, stream_id }) => {
                self.audio.track_added(mid, &stream_id, &self.snapshot.remotes);
            }
            (PeerRole::Subscriber, PeerEvent::Audio { mid, seq, payload }) => self.audio.packet(mid, seq, payload, now),
            (PeerRole::Publisher, PeerEvent::TrackAdded { .. } | PeerEvent::Audio { .. }) => {
                tracing::debug!("media on the publisher connection ignored");
            }
        }
        Ok(())
    }

    /// Sends what waited for `label` to open.
    fn flush(&mut self, label: &str) {
        let (ready, waiting): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| p.label == label);
        self.pending = waiting;
        for pending in ready {
            let result = self.send_now(pending.label, &pending.packets);
            self.out.push_back(Output::Done { id: pending.id, result });
        }
    }

    fn send_now(&mut self, label: &str, packets: &[Vec<u8>]) -> Result<(), RoomError> {
        packets
            .iter()
            .try_for_each(|bytes| self.publisher.send(label, true, bytes).map(|_| ()).map_err(RoomError::from))
    }

    /// Sends `packets` on `label` once the publisher's channel is open (negotiating it if need
    /// be), then answers `id`.
    fn send_data(&mut self, id: CommandId, label: &'static str, packets: Vec<Vec<u8>>, now: Instant) {
        if !self.publisher.has_negotiated() {
            self.negotiate_publisher();
        }
        if self.publisher.is_open(label) {
            let result = self.send_now(label, &packets);
            self.out.push_back(Output::Done { id, result });
        } else {
            self.pending.push(Pending { label, packets, deadline: now + self.publish_timeout, id });
        }
    }

    fn on_signal(&mut self, message: Response, now: Instant) -> Result<(), End> {
        match message {
            Response::Offer(offer) => self.on_subscriber_offer(offer, now).map_err(peer_failed)?,
            Response::Answer(answer) => {
                self.publisher.accept_answer(&answer.sdp).map_err(peer_failed)?;
                // The audio track was added while an offer was out: offer it now.
                if self.publisher.wants_offer() {
                    self.negotiate_publisher();
                }
            }
            Response::TrackPublished(published) => self.on_track_published(published),
            Response::Trickle(trickle) => match signal::parse_trickle(&trickle) {
                Ok((PeerRole::Publisher, init)) => log_candidate(self.publisher.add_remote_candidate(&init)),
                Ok((PeerRole::Subscriber, init)) => match self.subscriber.as_mut() {
                    Some(peer) => log_candidate(peer.add_remote_candidate(&init)),
                    None => self.early_candidates.push(init),
                },
                Err(error) => tracing::warn!(%error, "ignored a trickled candidate"),
            },
            Response::Update(update) => {
                self.on_participants(update.participants);
                self.audio.participants_changed(&self.snapshot.remotes);
            }
            Response::RoomUpdate(update) => {
                if let Some(room) = update.room {
                    self.snapshot.room = room;
                    self.snapshot_changed = true;
                }
            }
            Response::RefreshToken(token) => {
                tracing::debug!("access token refreshed");
                self.snapshot.token = token;
                self.snapshot_changed = true;
            }
            Response::Leave(leave) => return Err(End::because(signal::leave_reason(&leave))),
            Response::PongResp(_) | Response::Pong(_) => self.pong_deadline = None,
            Response::Join(_) => return Err(End::because("LiveKit protocol error: a second join response")),
            other => tracing::trace!(?other, "signal ignored"),
        }
        Ok(())
    }

    fn on_subscriber_offer(&mut self, offer: proto::SessionDescription, now: Instant) -> Result<(), RoomError> {
        let created = self.subscriber.is_none();
        if created {
            let mut peer = Peer::new(PeerRole::Subscriber.name(), self.subscriber_addr, now)?;
            for init in self.early_candidates.drain(..) {
                log_candidate(peer.add_remote_candidate(&init));
            }
            self.subscriber = Some(peer);
        }
        let Some(peer) = self.subscriber.as_mut() else { return Ok(()) };
        let answer = peer.accept_offer(&offer.sdp)?;
        let candidate = peer.local_candidate();
        let mut description = signal::session_description("answer", answer);
        description.id = offer.id;
        self.signal(Request::Answer(description));
        if created {
            self.signal(signal::trickle(PeerRole::Subscriber, &candidate));
        }
        Ok(())
    }

    /// The server accepted the agent's track: offer it, then the command is answered.
    fn on_track_published(&mut self, published: proto::TrackPublishedResponse) {
        if self.audio.agent_cid() != Some(published.cid.as_str()) {
            tracing::debug!(cid = %published.cid, "track_published for a track we did not add");
            return;
        }
        let sid = published.track.map(|t| t.sid).unwrap_or_default();
        tracing::info!(track = %sid, "agent audio track published");
        self.audio.agent_published(sid.clone());
        let stream_id = format!("{}|{}", self.snapshot.local.sid, sid);
        self.publisher.add_audio_track(stream_id, published.cid);
        if !self.publisher.is_offering() {
            self.negotiate_publisher();
        }
        if let Some((id, _)) = self.audio_start.take() {
            self.out.push_back(Output::Done { id, result: Ok(()) });
        }
    }

    fn negotiate_publisher(&mut self) {
        let first = !self.publisher.has_negotiated();
        let Some(offer) = self.publisher.create_offer() else { return };
        self.signal(Request::Offer(signal::session_description("offer", offer)));
        if first {
            let candidate = self.publisher.local_candidate();
            self.signal(signal::trickle(PeerRole::Publisher, &candidate));
        }
    }

    fn on_participants(&mut self, participants: Vec<proto::ParticipantInfo>) {
        let shared = &mut self.snapshot;
        for info in participants {
            self.snapshot_changed = true;
            if info.sid == shared.local.sid {
                if info.version >= shared.local.version {
                    shared.local = info;
                }
                continue;
            }
            let known = shared.remotes.iter().position(|p| p.sid == info.sid);
            let gone = info.state == proto::participant_info::State::Disconnected as i32;
            let event = match known {
                Some(index) if gone => {
                    shared.remotes.remove(index);
                    RoomEvent::ParticipantDisconnected(info)
                }
                // Updates can arrive out of order; a lower version is stale.
                Some(index) if info.version < shared.remotes[index].version => continue,
                Some(index) => {
                    shared.remotes[index] = info.clone();
                    RoomEvent::ParticipantUpdated(info)
                }
                None if gone => continue,
                None => {
                    shared.remotes.push(info.clone());
                    RoomEvent::ParticipantConnected(info)
                }
            };
            self.out.push_back(Output::Event(event));
        }
    }

    fn on_command(&mut self, id: CommandId, command: Command, now: Instant) -> Result<(), End> {
        match command {
            Command::Publish { payload, topic, reliable } => {
                self.sequence = self.sequence.wrapping_add(1);
                let identity = &self.snapshot.local.identity;
                let bytes = match data::encode_user(identity, payload, &topic, reliable, self.sequence) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        self.out.push_back(Output::Done { id, result: Err(error) });
                        return Ok(());
                    }
                };
                let label = if reliable { RELIABLE_LABEL } else { LOSSY_LABEL };
                self.send_data(id, label, vec![bytes], now);
            }
            Command::Transcript { user, text, r#final, timestamp_ms } => {
                let speaker = if user {
                    let heard = self.audio.heard_participant().and_then(|(participant, track)| {
                        let identity = self.snapshot.remotes.iter().find(|p| p.sid == participant)?;
                        Some(Speaker::User { identity: identity.identity.as_str(), track_sid: Some(track) })
                    });
                    // Typed text, or a user not heard yet: the first user speaks.
                    let first = || self.snapshot.remotes.iter().find(|p| is_user(p));
                    heard.or_else(|| first().map(|p| Speaker::User { identity: &p.identity, track_sid: None }))
                } else {
                    Some(Speaker::Agent { track_sid: self.audio.agent_track_sid() })
                };
                let Some(speaker) = speaker else {
                    self.out.push_back(Output::Done { id, result: Ok(()) });
                    return Ok(());
                };
                let stream = self.transcriptions.transcript(speaker, &text, r#final, timestamp_ms);
                let own = self.snapshot.local.identity.clone();
                let packets = stream
                    .into_iter()
                    .map(|packet| {
                        self.sequence = self.sequence.wrapping_add(1);
                        let identity = packet.on_behalf_of.as_deref().unwrap_or(&own);
                        data::encode_value(identity, packet.value, true, self.sequence)
                    })
                    .collect();
                self.send_data(id, RELIABLE_LABEL, packets, now);
            }
            Command::SetAttributes { attributes } => {
                self.request_id = self.request_id.wrapping_add(1);
                let update = proto::UpdateParticipantMetadata {
                    attributes,
                    request_id: self.request_id,
                    ..proto::UpdateParticipantMetadata::default()
                };
                self.out.push_back(Output::Signal { message: Request::UpdateMetadata(update), done: Some(id) });
            }
            Command::StartAudio { listen_to } => {
                if self.audio.is_started() {
                    let result = Err(RoomError::Protocol("the room's audio is already started".into()));
                    self.out.push_back(Output::Done { id, result });
                    return Ok(());
                }
                let cid = format!("TR_voiceblox_{}", self.snapshot.local.sid);
                // RTP asks for a random start; the clock's sub-second part is random enough.
                let media_time = u64::from(self.started.1.subsec_nanos());
                if let Err(error) = self.audio.start(listen_to, cid.clone(), media_time) {
                    self.out.push_back(Output::Done { id, result: Err(error) });
                    return Ok(());
                }
                self.audio.participants_changed(&self.snapshot.remotes);
                let request = proto::AddTrackRequest {
                    cid,
                    name: "agent-voice".into(),
                    r#type: proto::TrackType::Audio as i32,
                    source: proto::TrackSource::Microphone as i32,
                    disable_red: true,
                    ..proto::AddTrackRequest::default()
                };
                self.audio_start = Some((id, now + self.publish_timeout));
                self.signal(Request::AddTrack(request));
            }
            Command::Leave => self.leaving = Some((id, now + LEAVE_FLUSH)),
        }
        Ok(())
    }

    fn finish(&mut self, end: End, now: Instant) {
        self.finished = true;
        if end.leave.is_some() {
            let leave = proto::LeaveRequest {
                reason: proto::DisconnectReason::ClientInitiated as i32,
                action: proto::leave_request::Action::Disconnect as i32,
                ..proto::LeaveRequest::default()
            };
            self.signal(Request::Leave(leave));
        }
        self.out.push_back(Output::CloseSignalling);
        self.publisher.close(now);
        self.transmit(PeerRole::Publisher);
        if let Some(peer) = self.subscriber.as_mut() {
            peer.close(now);
        }
        self.transmit(PeerRole::Subscriber);
        tracing::info!(reason = %end.reason, audio = ?self.audio.stats(), "left LiveKit room");
        self.snapshot.ended = Some(end.reason.clone());
        self.snapshot_changed = true;
        self.out.push_back(Output::Primary(PrimaryState::Ended));
        let disconnected = RoomError::Disconnected { reason: end.reason.clone() };
        for pending in std::mem::take(&mut self.pending) {
            self.out.push_back(Output::Done { id: pending.id, result: Err(disconnected.clone()) });
        }
        if let Some((id, _)) = self.audio_start.take() {
            self.out.push_back(Output::Done { id, result: Err(disconnected.clone()) });
        }
        self.out.push_back(Output::Event(RoomEvent::Disconnected { reason: end.reason.clone() }));
        if let Some(id) = end.leave {
            self.out.push_back(Output::Done { id, result: Ok(()) });
        }
        self.out.push_back(Output::Finished { reason: end.reason });
    }
}

fn log_candidate(result: Result<(), crate::transport::webrtc::PeerError>) {
    if let Err(error) = result {
        tracing::warn!(%error, "ignored a trickled candidate");
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
