//! The one task that owns a room session: the signalling socket, both peers, the keepalive.
//! Every input (a frame, a datagram, a command, a timer) is handled, then both peers are
//! driven to their next timeout and what they report is turned into room events.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use livekit_protocol as proto;
use proto::signal_request::Message as Request;
use proto::signal_response::Message as Response;
use tokio::sync::{mpsc, oneshot, watch};

use super::data::{self, LOSSY_LABEL, RELIABLE_LABEL};
use super::error::RoomError;
use super::peer::{CandidateInit, Peer, PeerEvent, PeerRole};
use super::signal::{self, Socket};
use super::{PrimaryState, RoomEvent, Snapshot, lock};
use crate::error_text::chain;

type Done = oneshot::Sender<Result<(), RoomError>>;

pub(super) enum Command {
    Publish { payload: Vec<u8>, topic: String, reliable: bool, done: Done },
    SetAttributes { attributes: HashMap<String, String>, done: Done },
    Leave { done: Done },
}

pub(super) struct Setup {
    pub socket: Socket,
    pub server: SocketAddr,
    pub join: proto::JoinResponse,
    pub publisher: Peer,
    pub shared: Arc<Mutex<Snapshot>>,
    pub events: mpsc::Sender<RoomEvent>,
    pub commands: mpsc::Receiver<Command>,
    pub primary: watch::Sender<PrimaryState>,
    pub publish_timeout: Duration,
}

/// A data packet waiting for its channel to open.
struct Pending {
    label: &'static str,
    bytes: Vec<u8>,
    deadline: Instant,
    done: Done,
}

pub(super) struct Driver {
    socket: Socket,
    server: SocketAddr,
    publisher: Peer,
    subscriber: Option<Peer>,
    subscriber_primary: bool,
    /// The server lets us publish before the subscriber is up (`fast_publish`).
    fast_publish: bool,
    shared: Arc<Mutex<Snapshot>>,
    events: mpsc::Sender<RoomEvent>,
    commands: mpsc::Receiver<Command>,
    primary: watch::Sender<PrimaryState>,
    publish_timeout: Duration,
    pending: Vec<Pending>,
    /// Candidates trickled before their peer exists.
    early_candidates: Vec<CandidateInit>,
    sequence: u32,
    request_id: u32,
    ping_interval: Option<Duration>,
    ping_timeout: Duration,
    /// Set when a ping goes out unanswered; a pong clears it.
    pong_deadline: Option<Instant>,
    /// A leave waiting for the data already written to go out, until this deadline.
    leaving: Option<(Done, Instant)>,
}

/// How long leaving waits for written data to be sent: the last events of a session (an
/// error, a goodbye) must not be cut off by the leave that follows them.
const LEAVE_FLUSH: Duration = Duration::from_secs(1);

/// How a session ends: the reason for [`RoomEvent::Disconnected`], and whether to say goodbye.
struct End {
    reason: String,
    leave: Option<Done>,
}

impl End {
    fn because(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), leave: None }
    }
}

impl Driver {
    pub(super) fn new(setup: Setup) -> Self {
        let join = setup.join;
        let seconds = |s: i32| Duration::from_secs(u64::try_from(s).unwrap_or(0));
        Self {
            socket: setup.socket,
            server: setup.server,
            publisher: setup.publisher,
            subscriber: None,
            subscriber_primary: join.subscriber_primary,
            fast_publish: join.fast_publish,
            shared: setup.shared,
            events: setup.events,
            commands: setup.commands,
            primary: setup.primary,
            publish_timeout: setup.publish_timeout,
            pending: Vec::new(),
            early_candidates: Vec::new(),
            sequence: 0,
            request_id: 0,
            ping_interval: (join.ping_interval > 0).then(|| seconds(join.ping_interval)),
            // LiveKit's default when a server sends none.
            ping_timeout: if join.ping_timeout > 0 { seconds(join.ping_timeout) } else { Duration::from_secs(15) },
            pong_deadline: None,
            leaving: None,
        }
    }

    pub(super) async fn run(mut self) {
        let end = match self.start().await {
            Ok(()) => self.serve().await,
            Err(error) => End::because(error.to_string()),
        };
        self.finish(end).await;
    }

    /// What the Rust SDK does right after joining: negotiate the publisher now when the server
    /// does not lead with the subscriber or allows `fast_publish`; else on the first publish.
    async fn start(&mut self) -> Result<(), RoomError> {
        if !self.subscriber_primary || self.fast_publish {
            self.negotiate_publisher().await?;
        }
        Ok(())
    }

    async fn serve(&mut self) -> End {
        let mut ping = self.ping_interval.map(|every| {
            let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer
        });
        loop {
            let deadline = self.next_deadline();
            let step = tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(frame)) => self.on_frame(frame).await,
                    Some(Err(error)) => Err(End::because(format!("signalling connection lost: {}", chain(&error)))),
                    None => Err(End::because("the server closed the signalling connection")),
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    // Every handle is gone: nobody can use the room any more.
                    None => Err(End { reason: "CLIENT_INITIATED".into(), leave: None }),
                },
                Ok(()) = self.publisher.readable() => self.publisher.receive(Instant::now()).map_err(peer_failed),
                Ok(()) = readable(self.subscriber.as_ref()) => match self.subscriber.as_mut() {
                    Some(peer) => peer.receive(Instant::now()).map_err(peer_failed),
                    None => Ok(()),
                },
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => Ok(()),
                _ = tick(ping.as_mut()) => self.ping().await,
            };
            if let Err(end) = step {
                return end;
            }
            if let Err(end) = self.drive().await {
                return end;
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut deadline = self.publisher.deadline();
        if let Some(peer) = &self.subscriber {
            deadline = deadline.min(peer.deadline());
        }
        for pending in &self.pending {
            deadline = deadline.min(pending.deadline);
        }
        if let Some(pong) = self.pong_deadline {
            deadline = deadline.min(pong);
        }
        if let Some((_, flushed_by)) = &self.leaving {
            deadline = deadline.min(*flushed_by);
        }
        deadline
    }

    /// Drives both peers and handles what they report; expires what has waited too long.
    async fn drive(&mut self) -> Result<(), End> {
        let now = Instant::now();
        if self.pong_deadline.is_some_and(|d| now >= d) {
            return Err(End::because("ping timeout: the server stopped answering"));
        }
        let published = self.publisher.drive(now).map_err(peer_failed)?;
        for event in published {
            self.on_peer_event(PeerRole::Publisher, event).await?;
        }
        let subscribed = match self.subscriber.as_mut() {
            Some(peer) => peer.drive(now).map_err(peer_failed)?,
            None => Vec::new(),
        };
        for event in subscribed {
            self.on_peer_event(PeerRole::Subscriber, event).await?;
        }
        let (expired, waiting): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| now >= p.deadline);
        self.pending = waiting;
        for pending in expired {
            let after = self.publish_timeout;
            let _ = pending.done.send(Err(RoomError::Timeout { what: "open the publisher data channel", after }));
        }
        let flushed = self.pending.is_empty() && self.publisher.buffered() == 0;
        if self.leaving.as_ref().is_some_and(|(_, by)| flushed || now >= *by)
            && let Some((done, _)) = self.leaving.take()
        {
            return Err(End { reason: "CLIENT_INITIATED".into(), leave: Some(done) });
        }
        Ok(())
    }

    async fn on_peer_event(&mut self, role: PeerRole, event: PeerEvent) -> Result<(), End> {
        match (role, event) {
            (_, PeerEvent::Connected) => {
                tracing::debug!(?role, "peer connection up");
                let primary = if self.subscriber_primary { PeerRole::Subscriber } else { PeerRole::Publisher };
                if role == primary {
                    self.primary.send_replace(PrimaryState::Connected);
                }
            }
            (_, PeerEvent::Disconnected) => {
                return Err(End::because(format!("the {role:?} peer connection was lost")));
            }
            (PeerRole::Publisher, PeerEvent::ChannelOpen(label)) => self.flush(&label).map_err(peer_failed)?,
            (PeerRole::Subscriber, PeerEvent::ChannelOpen(_)) => {}
            (PeerRole::Subscriber, PeerEvent::Data { label, bytes }) => {
                match data::decode_user(&bytes, label == RELIABLE_LABEL) {
                    Ok(Some(user)) => {
                        self.emit(RoomEvent::Data {
                            participant_identity: user.participant_identity,
                            topic: user.topic,
                            payload: user.payload,
                            reliable: user.reliable,
                        })
                        .await;
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "dropped a data packet"),
                }
            }
            (PeerRole::Publisher, PeerEvent::Data { .. }) => {
                tracing::debug!("data on the publisher connection ignored (the server sends on the subscriber)");
            }
        }
        Ok(())
    }

    /// Sends what waited for `label` to open.
    fn flush(&mut self, label: &str) -> Result<(), RoomError> {
        let (ready, waiting): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| p.label == label);
        self.pending = waiting;
        for pending in ready {
            let sent = self.publisher.send(pending.label, &pending.bytes).map(|_| ());
            let _ = pending.done.send(sent);
        }
        Ok(())
    }

    async fn on_frame(&mut self, frame: tokio_tungstenite::tungstenite::Message) -> Result<(), End> {
        let message = match signal::decode(frame) {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(()),
            Err(RoomError::Disconnected { reason }) => return Err(End::because(reason)),
            Err(error) => return Err(End::because(error.to_string())),
        };
        match message {
            Response::Offer(offer) => self.on_subscriber_offer(offer).await.map_err(peer_failed)?,
            Response::Answer(answer) => self.publisher.accept_answer(&answer.sdp).map_err(peer_failed)?,
            Response::Trickle(trickle) => match signal::parse_trickle(&trickle) {
                Ok((PeerRole::Publisher, init)) => log_candidate(self.publisher.add_remote_candidate(&init)),
                Ok((PeerRole::Subscriber, init)) => match self.subscriber.as_mut() {
                    Some(peer) => log_candidate(peer.add_remote_candidate(&init)),
                    None => self.early_candidates.push(init),
                },
                Err(error) => tracing::warn!(%error, "ignored a trickled candidate"),
            },
            Response::Update(update) => self.on_participants(update.participants).await,
            Response::RoomUpdate(update) => {
                if let Some(room) = update.room {
                    lock(&self.shared).room = room;
                }
            }
            Response::RefreshToken(token) => {
                tracing::debug!("access token refreshed");
                lock(&self.shared).token = token;
            }
            Response::Leave(leave) => return Err(End::because(signal::leave_reason(&leave))),
            Response::PongResp(_) | Response::Pong(_) => self.pong_deadline = None,
            Response::Join(_) => return Err(End::because("LiveKit protocol error: a second join response")),
            other => tracing::trace!(?other, "signal ignored"),
        }
        Ok(())
    }

    async fn on_subscriber_offer(&mut self, offer: proto::SessionDescription) -> Result<(), RoomError> {
        let created = self.subscriber.is_none();
        if created {
            let mut peer = Peer::new(PeerRole::Subscriber, self.server, Instant::now()).await?;
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
        signal::send(&mut self.socket, Request::Answer(description)).await?;
        if created {
            signal::send(&mut self.socket, signal::trickle(PeerRole::Subscriber, &candidate)).await?;
        }
        Ok(())
    }

    async fn negotiate_publisher(&mut self) -> Result<(), RoomError> {
        let first = !self.publisher.has_negotiated();
        let Some(offer) = self.publisher.create_offer() else { return Ok(()) };
        signal::send(&mut self.socket, Request::Offer(signal::session_description("offer", offer))).await?;
        if first {
            let candidate = self.publisher.local_candidate();
            signal::send(&mut self.socket, signal::trickle(PeerRole::Publisher, &candidate)).await?;
        }
        Ok(())
    }

    async fn on_participants(&mut self, participants: Vec<proto::ParticipantInfo>) {
        let mut events = Vec::new();
        {
            let mut shared = lock(&self.shared);
            for info in participants {
                if info.sid == shared.local.sid {
                    if info.version >= shared.local.version {
                        shared.local = info;
                    }
                    continue;
                }
                let known = shared.remotes.iter().position(|p| p.sid == info.sid);
                let gone = info.state == proto::participant_info::State::Disconnected as i32;
                match known {
                    Some(index) if gone => {
                        shared.remotes.remove(index);
                        events.push(RoomEvent::ParticipantDisconnected(info));
                    }
                    // Updates can arrive out of order; a lower version is stale.
                    Some(index) if info.version < shared.remotes[index].version => {}
                    Some(index) => {
                        shared.remotes[index] = info.clone();
                        events.push(RoomEvent::ParticipantUpdated(info));
                    }
                    None if gone => {}
                    None => {
                        shared.remotes.push(info.clone());
                        events.push(RoomEvent::ParticipantConnected(info));
                    }
                }
            }
        }
        for event in events {
            self.emit(event).await;
        }
    }

    async fn on_command(&mut self, command: Command) -> Result<(), End> {
        match command {
            Command::Publish { payload, topic, reliable, done } => {
                let identity = lock(&self.shared).local.identity.clone();
                self.sequence = self.sequence.wrapping_add(1);
                let bytes = match data::encode_user(&identity, payload, &topic, reliable, self.sequence) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        let _ = done.send(Err(error));
                        return Ok(());
                    }
                };
                if !self.publisher.has_negotiated() {
                    self.negotiate_publisher().await.map_err(peer_failed)?;
                }
                let label = if reliable { RELIABLE_LABEL } else { LOSSY_LABEL };
                if self.publisher.is_open(label) {
                    let _ = done.send(self.publisher.send(label, &bytes).map(|_| ()));
                } else {
                    let deadline = Instant::now() + self.publish_timeout;
                    self.pending.push(Pending { label, bytes, deadline, done });
                }
            }
            Command::SetAttributes { attributes, done } => {
                self.request_id = self.request_id.wrapping_add(1);
                let update = proto::UpdateParticipantMetadata {
                    attributes,
                    request_id: self.request_id,
                    ..proto::UpdateParticipantMetadata::default()
                };
                let sent = signal::send(&mut self.socket, Request::UpdateMetadata(update)).await;
                let failed = sent.is_err();
                let _ = done.send(sent);
                if failed {
                    return Err(End::because("the signalling connection was lost"));
                }
            }
            Command::Leave { done } => self.leaving = Some((done, Instant::now() + LEAVE_FLUSH)),
        }
        Ok(())
    }

    async fn ping(&mut self) -> Result<(), End> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let ping = proto::Ping { timestamp: i64::try_from(now_ms).unwrap_or(i64::MAX), rtt: 0 };
        if self.pong_deadline.is_none() {
            self.pong_deadline = Some(Instant::now() + self.ping_timeout);
        }
        signal::send(&mut self.socket, Request::PingReq(ping))
            .await
            .map_err(|e| End::because(format!("signalling connection lost: {e}")))
    }

    async fn emit(&self, event: RoomEvent) {
        // A dropped receiver means nobody listens; the session still runs for the handles.
        let _ = self.events.send(event).await;
    }

    async fn finish(mut self, end: End) {
        let now = Instant::now();
        if end.leave.is_some() {
            let leave = proto::LeaveRequest {
                reason: proto::DisconnectReason::ClientInitiated as i32,
                action: proto::leave_request::Action::Disconnect as i32,
                ..proto::LeaveRequest::default()
            };
            if let Err(error) = signal::send(&mut self.socket, Request::Leave(leave)).await {
                tracing::debug!(%error, "could not send leave");
            }
        }
        let _ = self.socket.close(None).await;
        self.publisher.close(now);
        if let Some(peer) = self.subscriber.as_mut() {
            peer.close(now);
        }
        tracing::info!(reason = %end.reason, "left LiveKit room");
        lock(&self.shared).ended = Some(end.reason.clone());
        self.primary.send_replace(PrimaryState::Ended);
        let disconnected = RoomError::Disconnected { reason: end.reason.clone() };
        for pending in self.pending.drain(..) {
            let _ = pending.done.send(Err(disconnected.clone()));
        }
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            let done = match command {
                Command::Publish { done, .. } | Command::SetAttributes { done, .. } | Command::Leave { done } => done,
            };
            let _ = done.send(Err(disconnected.clone()));
        }
        self.emit(RoomEvent::Disconnected { reason: end.reason }).await;
        if let Some(done) = end.leave {
            let _ = done.send(Ok(()));
        }
    }
}

fn peer_failed(error: RoomError) -> End {
    End::because(error.to_string())
}

fn log_candidate(result: Result<(), RoomError>) {
    if let Err(error) = result {
        tracing::warn!(%error, "ignored a trickled candidate");
    }
}

async fn readable(peer: Option<&Peer>) -> std::io::Result<()> {
    match peer {
        Some(peer) => peer.readable().await,
        None => std::future::pending().await,
    }
}

async fn tick(timer: Option<&mut tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}
