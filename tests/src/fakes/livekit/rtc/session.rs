//! One participant's session on the fake SFU: its signalling socket, its two peers, and what
//! the room sends it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket};
use livekit_protocol as proto;
use prost::Message as _;
use proto::signal_request::Message as Request;
use proto::signal_response::Message as Response;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use str0m::media::Mid;

use super::peer::{Frame, SfuEvent, SfuPeer};
use super::sdp::sections;
use super::single_pc::SinglePc;
use super::token::{self, JoinClaims};
use super::{DataRecord, Member, RtcParticipant, Sfu, TextStreamRecord, ToSession};
use crate::fakes::ids::alnum_id;
use crate::fakes::livekit::{Project, services};
use crate::fakes::server::lock;

/// A refreshed token's lifetime (LiveKit's default token TTL).
const REFRESH_TTL_SECS: u64 = 6 * 3600;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CandidateInit {
    candidate: String,
    #[serde(default)]
    sdp_mid: Option<String>,
    #[serde(default, rename = "sdpMLineIndex")]
    sdp_m_line_index: Option<u32>,
}

struct Session {
    socket: WebSocket,
    project: Arc<Project>,
    room: String,
    sid: String,
    identity: String,
    /// Joined as an agent (token kind): may speak for others in text stream headers.
    is_agent: bool,
    can_publish_data: bool,
    can_update_metadata: bool,
    /// Signalling protocol: above 14 every metadata update is answered with a `RequestResponse`.
    protocol: i32,
    publisher: Option<SfuPeer>,
    /// The first media id of each peer's SDP, which trickled candidates name.
    publisher_mid: String,
    subscriber_mid: String,
    subscriber: Option<SfuPeer>,
    /// Data for this participant waiting for the subscriber's channel to open.
    queued: Vec<(Vec<u8>, bool)>,
    inbox: mpsc::Receiver<ToSession>,
    ping_timeout: Duration,
    last_signal: Instant,
    /// Tracks added with `add_track`, by `cid`, until the publisher's offer carries them.
    pending_tracks: HashMap<String, proto::TrackInfo>,
    /// This participant's published tracks: publisher mid → track sid.
    published: HashMap<Mid, String>,
    /// Tracks this participant subscribes to: track sid → subscriber mid.
    subscribed: HashMap<String, Mid>,
    /// Tracks waiting for the next subscriber offer (msid stream id, track sid).
    to_subscribe: Vec<(String, String)>,
    /// Subscriber m-lines of unpublished tracks, to go inactive in the next offer.
    to_retire: Vec<Mid>,
    offer_id: u32,
    /// `/rtc/v1`'s single peer connection: tracks go to the client on its publisher.
    single: Option<SinglePc>,
}

/// How a client connects: LiveKit's two peer connections (`/rtc`), or one (`/rtc/v1`), whose
/// first offer may come with the join request.
pub(super) enum JoinMode {
    TwoPc,
    SinglePc { publisher_offer: Option<proto::SessionDescription> },
}

fn sfu(project: &Project) -> &Sfu {
    &project.sfu
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The versions a client announced in its `/rtc` query.
#[derive(Debug, Clone, Copy)]
pub(super) struct Versions {
    pub(super) signal: i32,
    pub(super) client: i32,
}

pub(super) async fn run(
    socket: WebSocket,
    project: Arc<Project>,
    token: String,
    claims: JoinClaims,
    versions: Versions,
    mode: JoinMode,
) {
    let protocol = versions.signal;
    let settings = *lock(&sfu(&project).settings);
    let room_name = claims.video.room.clone();
    // Rooms are auto-created on join by default.
    let room = {
        let mut rooms = lock(&project.rooms);
        match rooms.iter().find(|r| r.name == room_name) {
            Some(room) => room.clone(),
            None => {
                let room = services::new_room(&project, &room_name, String::new(), 0, 0);
                rooms.push(room.clone());
                room
            }
        }
    };
    let can_subscribe = claims.video.can_subscribe.unwrap_or(true);
    let can_publish = claims.video.can_publish.unwrap_or(true);
    let permission = proto::ParticipantPermission {
        can_subscribe,
        can_publish,
        can_publish_data: claims.video.can_publish_data.unwrap_or(true),
        can_update_metadata: claims.video.can_update_own_metadata.unwrap_or(false),
        hidden: claims.video.hidden,
        ..Default::default()
    };
    let joined_ms = now_ms();
    let sid = format!("PA_{}", alnum_id(0x50, project.serial.next(), 12));
    let kind = if claims.kind == "agent" || claims.video.agent {
        proto::participant_info::Kind::Agent
    } else if claims.kind == "sip" {
        proto::participant_info::Kind::Sip
    } else {
        proto::participant_info::Kind::Standard
    };
    let info = proto::ParticipantInfo {
        sid: sid.clone(),
        identity: claims.sub.clone(),
        name: claims.name.clone(),
        state: proto::participant_info::State::Joined as i32,
        metadata: claims.metadata.clone(),
        attributes: claims.attributes.clone(),
        joined_at: joined_ms / 1000,
        joined_at_ms: joined_ms,
        version: 1,
        permission: Some(permission.clone()),
        kind: kind as i32,
        client_protocol: versions.client,
        ..Default::default()
    };
    // A single peer connection has no subscriber (participant.go).
    let (single, first_offer) = match mode {
        JoinMode::TwoPc => (false, None),
        JoinMode::SinglePc { publisher_offer } => (true, publisher_offer),
    };
    let (to_session, inbox) = mpsc::channel(1024);
    let mut others_tracks = Vec::new();
    let others = {
        let mut rooms = lock(&sfu(&project).rooms);
        let members = rooms.entry(room_name.clone()).or_default();
        // A second connection with the same identity replaces the first, as in LiveKit.
        members.retain(|m| m.info.identity != info.identity);
        let others: Vec<_> = members.iter().map(|m| m.info.clone()).collect();
        if can_subscribe {
            for other in &others {
                others_tracks.extend(other.tracks.iter().map(|t| (format!("{}|{}", other.sid, t.sid), t.sid.clone())));
            }
        }
        members.push(Member { info: info.clone(), to_session });
        others
    };
    sfu(&project).record(|r| {
        r.participants.push(RtcParticipant {
            room: room_name.clone(),
            info: info.clone(),
            connected: true,
            single_pc: single,
        })
    });
    broadcast(
        &project,
        &room_name,
        Some(&sid),
        Response::Update(proto::ParticipantUpdate { participants: vec![info.clone()] }),
    );

    // Clients above protocol 2 that may subscribe get the subscriber as primary
    // (protocol_version.go, participant.go).
    let subscriber_primary = protocol > 2 && can_subscribe && !single;
    let mut room_proto = room.clone();
    room_proto.num_participants = u32::try_from(others.len() + 1).unwrap_or(u32::MAX);
    let join = proto::JoinResponse {
        room: Some(room_proto),
        participant: Some(proto::ParticipantInfo {
            state: proto::participant_info::State::Joining as i32,
            ..info.clone()
        }),
        other_participants: others,
        server_version: "1.9.0".into(),
        subscriber_primary,
        ping_interval: settings.ping_interval,
        ping_timeout: settings.ping_timeout,
        fast_publish: can_publish,
        server_info: Some(proto::ServerInfo {
            edition: proto::server_info::Edition::Standard as i32,
            version: "1.9.0".into(),
            protocol: 16,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut session = Session {
        socket,
        project: project.clone(),
        room: room_name,
        sid,
        identity: claims.sub.clone(),
        is_agent: kind == proto::participant_info::Kind::Agent,
        can_publish_data: permission.can_publish_data,
        can_update_metadata: permission.can_update_metadata,
        protocol,
        publisher: None,
        publisher_mid: String::new(),
        subscriber_mid: String::new(),
        subscriber: None,
        queued: Vec::new(),
        inbox,
        ping_timeout: Duration::from_secs(u64::try_from(settings.ping_timeout.max(1)).unwrap_or(15)),
        last_signal: Instant::now(),
        pending_tracks: HashMap::new(),
        published: HashMap::new(),
        subscribed: HashMap::new(),
        // The tracks already in the room go into the first subscriber offer (or, with a single
        // peer connection, onto the client's first receivers).
        to_subscribe: if single { Vec::new() } else { others_tracks.clone() },
        to_retire: Vec::new(),
        offer_id: 0,
        single: single.then(|| SinglePc::new(others_tracks)),
    };
    let reason = session.serve(join, subscriber_primary, first_offer, &token).await;
    // As LiveKit does, the socket closes with a close frame (a client that left waits for it;
    // without one livekit-client reports "WS closed unexpectedly"). A dead socket just refuses it.
    let normal = axum::extract::ws::CloseFrame { code: 1000, reason: "".into() };
    let _ = session.socket.send(Message::Close(Some(normal))).await;
    session.depart(reason);
}

impl Session {
    async fn send(&mut self, message: Response) -> Result<(), String> {
        let bytes = proto::SignalResponse { message: Some(message) }.encode_to_vec();
        self.socket.send(Message::Binary(bytes.into())).await.map_err(|e| e.to_string())
    }

    async fn serve(
        &mut self,
        join: proto::JoinResponse,
        subscriber_primary: bool,
        first_offer: Option<proto::SessionDescription>,
        token: &str,
    ) -> proto::DisconnectReason {
        if self.send(Response::Join(join)).await.is_err() {
            return proto::DisconnectReason::SignalClose;
        }
        // The offer that came with the join request is answered right after the join.
        if let Some(offer) = first_offer
            && let Err(reason) = self.on_publisher_offer(offer).await
        {
            return reason;
        }
        if subscriber_primary && let Err(error) = self.offer_subscriber().await {
            tracing::warn!(%error, "fake SFU: subscriber offer failed");
            return proto::DisconnectReason::JoinFailure;
        }
        let refreshed = token::refreshed(token, &self.project.api_secret, REFRESH_TTL_SECS);
        if self.send(Response::RefreshToken(refreshed)).await.is_err() {
            return proto::DisconnectReason::SignalClose;
        }
        loop {
            let deadline = [self.publisher.as_ref(), self.subscriber.as_ref()]
                .into_iter()
                .flatten()
                .map(SfuPeer::deadline)
                .fold(self.last_signal + self.ping_timeout, Instant::min);
            let outcome = tokio::select! {
                frame = self.socket.recv() => match frame {
                    Some(Ok(Message::Binary(bytes))) => self.on_request(&bytes).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Err(proto::DisconnectReason::SignalClose),
                    // The server reads binary protobuf only; anything else is a protocol error.
                    Some(Ok(Message::Text(_))) => Err(proto::DisconnectReason::StateMismatch),
                    Some(Ok(_)) => Ok(()),
                },
                Some(order) = self.inbox.recv() => self.on_order(order).await,
                Ok(()) = readable(self.publisher.as_ref()) => {
                    if let Some(peer) = self.publisher.as_mut() { peer.receive(Instant::now()) }
                    Ok(())
                },
                Ok(()) = readable(self.subscriber.as_ref()) => {
                    if let Some(peer) = self.subscriber.as_mut() { peer.receive(Instant::now()) }
                    Ok(())
                },
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => Ok(()),
            };
            if let Err(reason) = outcome {
                return reason;
            }
            if self.last_signal.elapsed() > self.ping_timeout {
                tracing::debug!(identity = %self.identity, "fake SFU: no ping within the timeout");
                return proto::DisconnectReason::SignalClose;
            }
            if let Err(error) = self.drive().await {
                tracing::warn!(%error, "fake SFU: peer failed");
                return proto::DisconnectReason::StateMismatch;
            }
        }
    }

    async fn offer_subscriber(&mut self) -> Result<(), String> {
        let peer = SfuPeer::new().await?;
        let candidate = peer.local_candidate();
        self.subscriber = Some(peer);
        self.offer_tracks(true).await?;
        self.trickle(candidate, proto::SignalTarget::Subscriber).await
    }

    /// Offers the subscriber the tracks waiting (the first offer also its data channels).
    /// Waits while an offer is unanswered: the answer comes back here.
    async fn offer_tracks(&mut self, first: bool) -> Result<(), String> {
        let Some(peer) = self.subscriber.as_mut().filter(|p| !p.is_offering()) else { return Ok(()) };
        if !first && self.to_subscribe.is_empty() && self.to_retire.is_empty() {
            return Ok(());
        }
        let tracks = std::mem::take(&mut self.to_subscribe);
        let retired = std::mem::take(&mut self.to_retire);
        let (offer, mids) = peer.offer(first, &tracks, &retired).ok_or("nothing to offer")?;
        for ((_, track_sid), mid) in tracks.into_iter().zip(mids) {
            self.subscribed.insert(track_sid, mid);
        }
        if first {
            self.subscriber_mid = first_mid(&offer);
        }
        self.offer_id += 1;
        let description =
            proto::SessionDescription { r#type: "offer".into(), sdp: offer, id: self.offer_id, ..Default::default() };
        self.send(Response::Offer(description)).await
    }

    async fn trickle(&mut self, candidate: String, target: proto::SignalTarget) -> Result<(), String> {
        let mid = match target {
            proto::SignalTarget::Publisher => self.publisher_mid.clone(),
            proto::SignalTarget::Subscriber => self.subscriber_mid.clone(),
        };
        let init = CandidateInit { candidate, sdp_mid: Some(mid), sdp_m_line_index: Some(0) };
        let trickle = proto::TrickleRequest {
            candidate_init: serde_json::to_string(&init).map_err(|e| e.to_string())?,
            target: target as i32,
            ..Default::default()
        };
        self.send(Response::Trickle(trickle)).await
    }

    async fn on_request(&mut self, bytes: &[u8]) -> Result<(), proto::DisconnectReason> {
        // A frame that does not decode ends the session, as the server's signal reader does.
        let Ok(request) = proto::SignalRequest::decode(bytes) else {
            tracing::debug!(identity = %self.identity, "fake SFU: undecodable signal request");
            return Err(proto::DisconnectReason::StateMismatch);
        };
        self.last_signal = Instant::now();
        let closed = |_| proto::DisconnectReason::SignalClose;
        match request.message {
            Some(Request::Offer(offer)) => self.on_publisher_offer(offer).await?,
            Some(Request::Answer(answer)) => {
                let accepted = self.subscriber.as_mut().map(|peer| peer.accept_answer(&answer.sdp));
                if let Some(Err(error)) = accepted {
                    tracing::warn!(%error, "fake SFU: bad subscriber answer");
                    return Err(proto::DisconnectReason::StateMismatch);
                }
                self.offer_tracks(false).await.map_err(closed)?;
            }
            Some(Request::Trickle(trickle)) => {
                let Ok(init) = serde_json::from_str::<CandidateInit>(&trickle.candidate_init) else {
                    tracing::warn!("fake SFU: bad trickle candidate");
                    return Ok(());
                };
                let peer = if trickle.target == proto::SignalTarget::Subscriber as i32 {
                    self.subscriber.as_mut()
                } else {
                    self.publisher.as_mut()
                };
                if let Some(Err(error)) = peer.map(|p| p.add_remote_candidate(&init.candidate)) {
                    tracing::warn!(%error, "fake SFU: bad candidate");
                }
            }
            Some(Request::PingReq(ping)) => {
                let answer = lock(&sfu(&self.project).settings).answer_pings;
                let identity = self.identity.clone();
                sfu(&self.project).record(|r| *r.pings.entry(identity).or_default() += 1);
                if answer {
                    let pong = proto::Pong { last_ping_timestamp: ping.timestamp, timestamp: now_ms() };
                    self.send(Response::PongResp(pong)).await.map_err(closed)?;
                }
            }
            Some(Request::Ping(_)) if lock(&sfu(&self.project).settings).answer_pings => {
                self.send(Response::Pong(now_ms())).await.map_err(closed)?;
            }
            Some(Request::UpdateMetadata(update)) => self.update_metadata(update).await.map_err(closed)?,
            Some(Request::AddTrack(add)) => {
                let track = proto::TrackInfo {
                    sid: format!("TR_{}", alnum_id(0x54, self.project.serial.next(), 12)),
                    r#type: add.r#type,
                    name: add.name,
                    muted: add.muted,
                    source: add.source,
                    mime_type: "audio/opus".into(),
                    disable_red: add.disable_red,
                    stream: add.stream,
                    ..Default::default()
                };
                self.pending_tracks.insert(add.cid.clone(), track.clone());
                let published = proto::TrackPublishedResponse { cid: add.cid, track: Some(track) };
                self.send(Response::TrackPublished(published)).await.map_err(closed)?;
            }
            Some(Request::Mute(mute)) => {
                let identity = self.identity.clone();
                sfu(&self.project).record(|r| r.mutes.push((identity, mute.sid.clone(), mute.muted)));
                self.update_tracks(|tracks| {
                    for track in tracks.iter_mut().filter(|t| t.sid == mute.sid) {
                        track.muted = mute.muted;
                    }
                });
            }
            Some(Request::Leave(_)) => return Err(proto::DisconnectReason::ClientInitiated),
            _ => {}
        }
        Ok(())
    }

    /// The client's publisher offer: answered (with a single peer connection, with the tracks
    /// sent on its receivers and what it must add for the rest).
    async fn on_publisher_offer(&mut self, offer: proto::SessionDescription) -> Result<(), proto::DisconnectReason> {
        let closed = |_| proto::DisconnectReason::SignalClose;
        let first = self.publisher.is_none();
        if first {
            self.publisher = Some(SfuPeer::new().await.map_err(|_| proto::DisconnectReason::JoinFailure)?);
        }
        if let Some(single) = self.single.as_mut() {
            single.offered(&offer.sdp);
        }
        self.unpublish_stopped(&offer.sdp);
        let Some(peer) = self.publisher.as_mut() else { return Ok(()) };
        let answer = match peer.accept_offer(&offer.sdp) {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, "fake SFU: bad publisher offer");
                return Err(proto::DisconnectReason::StateMismatch);
            }
        };
        let candidate = peer.local_candidate();
        self.publisher_mid = first_mid(&offer.sdp);
        let (sdp, mid_to_track_id) = match &self.single {
            Some(single) => (single.rewrite_answer(&answer), single.mid_to_track_id()),
            None => (answer, HashMap::new()),
        };
        let description = proto::SessionDescription { r#type: "answer".into(), sdp, id: offer.id, mid_to_track_id };
        self.send(Response::Answer(description)).await.map_err(closed)?;
        if first {
            self.trickle(candidate, proto::SignalTarget::Publisher).await.map_err(closed)?;
        }
        if self.single.as_ref().is_some_and(|s| s.missing() > 0) {
            self.require_sections().await.map_err(closed)?;
        }
        Ok(())
    }

    /// Asks a single-connection client to negotiate, adding the receivers still missing.
    async fn require_sections(&mut self) -> Result<(), String> {
        let num_audios = self.single.as_ref().map_or(0, SinglePc::missing);
        self.send(Response::MediaSectionsRequirement(proto::MediaSectionsRequirement { num_audios, num_videos: 0 }))
            .await
    }

    async fn update_metadata(&mut self, update: proto::UpdateParticipantMetadata) -> Result<(), String> {
        let received = Instant::now();
        if !self.can_update_metadata {
            let refusal = proto::RequestResponse {
                request_id: update.request_id,
                reason: proto::request_response::Reason::NotAllowed as i32,
                message: "does not have permission to update own metadata".into(),
                ..Default::default()
            };
            return self.send(Response::RequestResponse(refusal)).await;
        }
        let request_id = update.request_id;
        let echo = update.clone();
        let info = {
            let mut rooms = lock(&sfu(&self.project).rooms);
            let Some(member) = rooms.get_mut(&self.room).and_then(|m| m.iter_mut().find(|m| m.info.sid == self.sid))
            else {
                return Ok(());
            };
            let info = &mut member.info;
            for (key, value) in update.attributes {
                if value.is_empty() {
                    info.attributes.remove(&key);
                } else {
                    info.attributes.insert(key, value);
                }
            }
            if !update.metadata.is_empty() {
                info.metadata = update.metadata;
            }
            if !update.name.is_empty() {
                info.name = update.name;
            }
            info.version += 1;
            info.clone()
        };
        let (identity, attributes) = (self.identity.clone(), info.attributes.clone());
        sfu(&self.project).record(|r| {
            r.attributes.push((identity.clone(), received, attributes));
            if let Some(p) = r.participants.iter_mut().rev().find(|p| p.info.identity == identity) {
                p.info = info.clone();
            }
        });
        // Everyone hears about it, the sender included.
        broadcast(
            &self.project,
            &self.room,
            None,
            Response::Update(proto::ParticipantUpdate { participants: vec![info] }),
        );
        // SDKs wait for this (Python: up to 5 s) before their `set_attributes` returns.
        if self.protocol > 14 {
            let done = proto::RequestResponse {
                request_id,
                reason: proto::request_response::Reason::Ok as i32,
                request: Some(proto::request_response::Request::UpdateMetadata(echo)),
                ..Default::default()
            };
            self.send(Response::RequestResponse(done)).await?;
        }
        Ok(())
    }

    async fn on_order(&mut self, order: ToSession) -> Result<(), proto::DisconnectReason> {
        match order {
            ToSession::Signal(message) => self.send(*message).await.map_err(|_| proto::DisconnectReason::SignalClose),
            ToSession::Data { bytes, reliable } => {
                self.queued.push((bytes, reliable));
                self.flush();
                Ok(())
            }
            ToSession::Subscribe { stream_id, track_sid } => {
                if let Some(single) = self.single.as_mut() {
                    // The server always asks, even when a receiver was free (then for none).
                    single.subscribe((stream_id, track_sid));
                    return self.require_sections().await.map_err(|_| proto::DisconnectReason::SignalClose);
                }
                self.to_subscribe.push((stream_id, track_sid));
                self.offer_tracks(false).await.map_err(|_| proto::DisconnectReason::SignalClose)
            }
            ToSession::Unsubscribe { track_sid } => {
                if let Some(single) = self.single.as_mut() {
                    single.unsubscribe(&track_sid);
                    return self.require_sections().await.map_err(|_| proto::DisconnectReason::SignalClose);
                }
                if let Some(mid) = self.subscribed.remove(&track_sid) {
                    self.to_retire.push(mid);
                }
                self.offer_tracks(false).await.map_err(|_| proto::DisconnectReason::SignalClose)
            }
            ToSession::Media { track_sid, frame } => {
                let mid = match &self.single {
                    Some(single) => single.mid_of(&track_sid).map(Mid::from),
                    None => self.subscribed.get(&track_sid).copied(),
                };
                if let (Some(mid), Some(peer)) = (mid, self.downstream()) {
                    peer.write(mid, &frame);
                }
                Ok(())
            }
        }
    }

    /// The peer this participant receives on: its subscriber, or its only one.
    fn downstream(&mut self) -> Option<&mut SfuPeer> {
        if self.single.is_some() { self.publisher.as_mut() } else { self.subscriber.as_mut() }
    }

    /// Sends queued data on the receiving peer's channels once they are open.
    fn flush(&mut self) {
        let single = self.single.is_some();
        let Some(peer) = (if single { self.publisher.as_mut() } else { self.subscriber.as_mut() }) else { return };
        self.queued.retain(|(bytes, reliable)| {
            let label = if *reliable { "_reliable" } else { "_lossy" };
            !(peer.is_open(label) && peer.send(label, bytes))
        });
    }

    async fn drive(&mut self) -> Result<(), String> {
        let now = Instant::now();
        let published = match self.publisher.as_mut() {
            Some(peer) => peer.drive(now)?,
            None => Vec::new(),
        };
        let mut opened = false;
        for event in published {
            match event {
                SfuEvent::Data { label, bytes } => self.forward(&bytes, label == "_reliable"),
                SfuEvent::TrackAdded { mid, track_id } => self.track_offered(mid, &track_id),
                SfuEvent::Media(frame) => self.forward_media(frame),
                SfuEvent::Connected | SfuEvent::ChannelOpen => opened = true,
            }
        }
        if opened && self.single.is_some() {
            self.flush();
            if let Some(peer) = self.publisher.as_mut() {
                peer.drive(now)?;
            }
        }
        let subscribed = match self.subscriber.as_mut() {
            Some(peer) => peer.drive(now)?,
            None => Vec::new(),
        };
        if subscribed.iter().any(|e| matches!(e, SfuEvent::ChannelOpen | SfuEvent::Connected)) {
            self.flush();
            if let Some(peer) = self.subscriber.as_mut() {
                peer.drive(now)?;
            }
        }
        Ok(())
    }

    /// The publisher's offer carries a track added with `add_track`: it is published now.
    /// Everyone hears of it, then the others are offered it.
    fn track_offered(&mut self, mid: Mid, cid: &str) {
        let Some(track) = self.pending_tracks.remove(cid) else {
            tracing::debug!(%cid, "fake SFU: a track nobody added");
            return;
        };
        self.published.insert(mid, track.sid.clone());
        let track_sid = track.sid.clone();
        self.update_tracks(|tracks| tracks.push(track));
        let stream_id = format!("{}|{}", self.sid, track_sid);
        let rooms = lock(&sfu(&self.project).rooms);
        for member in rooms.get(&self.room).into_iter().flatten().filter(|m| m.info.sid != self.sid) {
            let subscribe = ToSession::Subscribe { stream_id: stream_id.clone(), track_sid: track_sid.clone() };
            if member.to_session.try_send(subscribe).is_err() {
                tracing::warn!(identity = %member.info.identity, "fake SFU: could not offer a track");
            }
        }
    }

    /// Tracks whose m-line the publisher's new `offer` no longer sends on (the SDKs' unpublish:
    /// the transceiver goes inactive, the mid stays): unpublished. Everyone hears of it (the
    /// publisher too, no `track_unpublished`), and subscribers stop receiving it.
    fn unpublish_stopped(&mut self, offer: &str) {
        let stopped: Vec<(Mid, String)> = sections(offer)
            .filter(|section| !section.sends())
            .filter_map(|section| {
                let mid = Mid::from(section.mid()?);
                self.published.get(&mid).map(|track| (mid, track.clone()))
            })
            .collect();
        for (mid, track_sid) in stopped {
            self.published.remove(&mid);
            tracing::debug!(identity = %self.identity, track = %track_sid, "fake SFU: track unpublished");
            let identity = self.identity.clone();
            sfu(&self.project).record(|r| r.unpublished.push((identity, track_sid.clone())));
            self.update_tracks(|tracks| tracks.retain(|t| t.sid != track_sid));
            let rooms = lock(&sfu(&self.project).rooms);
            for member in rooms.get(&self.room).into_iter().flatten().filter(|m| m.info.sid != self.sid) {
                let _ = member.to_session.try_send(ToSession::Unsubscribe { track_sid: track_sid.clone() });
            }
        }
    }

    /// A frame of one of this participant's tracks, to everyone else (they subscribed).
    fn forward_media(&self, frame: Frame) {
        let Some(track_sid) = self.published.get(&frame.mid) else { return };
        let rooms = lock(&sfu(&self.project).rooms);
        for member in rooms.get(&self.room).into_iter().flatten().filter(|m| m.info.sid != self.sid) {
            // A full inbox drops the frame, as a congested SFU would.
            let _ = member.to_session.try_send(ToSession::Media { track_sid: track_sid.clone(), frame: frame.clone() });
        }
    }

    /// Changes this participant's tracks; the room hears of it and the record keeps it.
    fn update_tracks(&self, change: impl FnOnce(&mut Vec<proto::TrackInfo>)) {
        let info = {
            let mut rooms = lock(&sfu(&self.project).rooms);
            let Some(member) = rooms.get_mut(&self.room).and_then(|m| m.iter_mut().find(|m| m.info.sid == self.sid))
            else {
                return;
            };
            change(&mut member.info.tracks);
            member.info.version += 1;
            member.info.clone()
        };
        let identity = self.identity.clone();
        sfu(&self.project).record(|r| {
            r.tracks.retain(|(who, track)| who != &identity || !info.tracks.iter().any(|t| t.sid == track.sid));
            r.tracks.extend(info.tracks.iter().map(|t| (identity.clone(), t.clone())));
        });
        broadcast(
            &self.project,
            &self.room,
            None,
            Response::Update(proto::ParticipantUpdate { participants: vec![info] }),
        );
    }

    /// A data packet from this participant's publisher: stamped and forwarded.
    #[allow(deprecated)]
    fn forward(&self, bytes: &[u8], from_reliable: bool) {
        if !self.can_publish_data {
            return;
        }
        let Ok(mut packet) = proto::DataPacket::decode(bytes) else {
            tracing::debug!("fake SFU: could not parse data packet");
            return;
        };
        packet.participant_sid = self.sid.clone();
        // The channel it came in on decides, and the deprecated `kind` is rewritten to match:
        // SDKs disagree on that field's values (the Rust SDK writes them swapped).
        let reliable = from_reliable;
        #[allow(deprecated)]
        {
            packet.kind =
                if reliable { proto::data_packet::Kind::Reliable } else { proto::data_packet::Kind::Lossy } as i32;
        }
        // The server asserts the sender, except that an agent may speak for a participant in
        // a text stream's header (transcriptions), which then counts as generated.
        let mut speaks_for_another = false;
        match packet.value.as_mut() {
            Some(proto::data_packet::Value::User(user)) => {
                user.participant_sid = self.sid.clone();
                user.participant_identity = self.identity.clone();
                if packet.destination_identities.is_empty() {
                    packet.destination_identities = user.destination_identities.clone();
                } else {
                    user.destination_identities = packet.destination_identities.clone();
                }
                let record = DataRecord {
                    room: self.room.clone(),
                    sender: self.identity.clone(),
                    topic: user.topic.clone(),
                    payload: user.payload.clone(),
                    reliable,
                    destinations: packet.destination_identities.clone(),
                };
                sfu(&self.project).record(|r| r.data.push(record));
            }
            Some(proto::data_packet::Value::StreamHeader(header)) => {
                let other = !packet.participant_identity.is_empty() && packet.participant_identity != self.identity;
                if let Some(proto::data_stream::header::ContentHeader::TextHeader(text)) =
                    header.content_header.as_mut()
                    && other
                    && self.is_agent
                {
                    text.generated = true;
                    speaks_for_another = true;
                }
                let stream = TextStreamRecord {
                    room: self.room.clone(),
                    sender: self.identity.clone(),
                    on_behalf_of: speaks_for_another.then(|| packet.participant_identity.clone()),
                    header: header.clone(),
                    chunks: Vec::new(),
                    trailer: None,
                };
                sfu(&self.project).record(|r| r.streams.push(stream));
            }
            Some(proto::data_packet::Value::StreamChunk(chunk)) => {
                let chunk = chunk.clone();
                sfu(&self.project).record(|r| {
                    if let Some(stream) = r.streams.iter_mut().rev().find(|s| s.header.stream_id == chunk.stream_id) {
                        stream.chunks.push(chunk);
                    }
                });
            }
            Some(proto::data_packet::Value::StreamTrailer(trailer)) => {
                let trailer = trailer.clone();
                sfu(&self.project).record(|r| {
                    if let Some(stream) = r.streams.iter_mut().rev().find(|s| s.header.stream_id == trailer.stream_id) {
                        stream.trailer = Some(trailer);
                    }
                });
            }
            _ => return,
        }
        if !speaks_for_another {
            packet.participant_identity = self.identity.clone();
        }
        let destinations = packet.destination_identities.clone();
        let bytes = packet.encode_to_vec();
        {
            let rooms = lock(&sfu(&self.project).rooms);
            for member in rooms.get(&self.room).into_iter().flatten() {
                let wanted = destinations.is_empty() || destinations.contains(&member.info.identity);
                if member.info.sid != self.sid && wanted {
                    let _ = member.to_session.try_send(ToSession::Data { bytes: bytes.clone(), reliable });
                }
            }
        }
    }

    /// Leaves the room: the others hear `DISCONNECTED`.
    fn depart(self, reason: proto::DisconnectReason) {
        let info = {
            let mut rooms = lock(&sfu(&self.project).rooms);
            let Some(members) = rooms.get_mut(&self.room) else { return };
            let Some(index) = members.iter().position(|m| m.info.sid == self.sid) else { return };
            members.remove(index).info
        };
        let info = proto::ParticipantInfo {
            state: proto::participant_info::State::Disconnected as i32,
            disconnect_reason: reason as i32,
            version: info.version + 1,
            ..info
        };
        let sid = self.sid.clone();
        sfu(&self.project).record(|r| {
            if let Some(p) = r.participants.iter_mut().rev().find(|p| p.info.sid == sid) {
                p.connected = false;
                p.info = info.clone();
            }
        });
        broadcast(
            &self.project,
            &self.room,
            Some(&self.sid),
            Response::Update(proto::ParticipantUpdate { participants: vec![info] }),
        );
    }
}

/// Sends `message` to every participant in `room` except `skip`.
fn broadcast(project: &Project, room: &str, skip: Option<&str>, message: Response) {
    let rooms = lock(&sfu(project).rooms);
    for member in rooms.get(room).into_iter().flatten() {
        if skip != Some(member.info.sid.as_str()) {
            let _ = member.to_session.try_send(ToSession::Signal(Box::new(message.clone())));
        }
    }
}

async fn readable(peer: Option<&SfuPeer>) -> std::io::Result<()> {
    match peer {
        Some(peer) => peer.readable().await,
        None => std::future::pending().await,
    }
}

/// The first `a=mid:` of an SDP (empty when it has none).
fn first_mid(sdp: &str) -> String {
    sdp.lines().find_map(|line| line.trim().strip_prefix("a=mid:")).unwrap_or_default().to_string()
}
