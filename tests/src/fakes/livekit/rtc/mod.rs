//! `/rtc` and `/rtc/v1`: a small LiveKit SFU on the real wire — protobuf signalling over
//! WebSocket, str0m peer connections, data packets and audio forwarded between participants.
//!
//! Like the server (`pkg/service/auth.go`, `rtcservice.go`, `pkg/rtc/room.go`, `participant.go`):
//! - the token comes from `Authorization: Bearer` or the `access_token` query, verified like the
//!   Twirp fake's; refusals are plain text: 401 `invalid authorization token: ...` (bad
//!   signature, expired), 401 `no permissions to access the room` (no token), 401
//!   `permissions denied` (no `roomJoin`), 400 `no room name`, 400 `identity cannot be empty`;
//!   a request that is not a WebSocket upgrade gets an empty 404; `GET /rtc/validate` gives the
//!   same refusals (or 200 `success`) for SDKs to show after a failed connect;
//! - joining auto-creates a missing room (the default), whose record (metadata) is the one
//!   Twirp `CreateRoom` made;
//! - the first response is `join` (room, participant, other participants, `ping_interval`,
//!   `ping_timeout`, `subscriber_primary` = can subscribe, `fast_publish` = can publish); then a
//!   subscriber offer with the server's `_reliable`/`_lossy` channels, then one `refresh_token`;
//! - `ping_req` → `pong_resp`; the publisher offer is answered; trickle goes both ways;
//! - user data packets are stamped with the sender's identity and sid and forwarded to the
//!   other participants (or only to `destination_identities`);
//! - `update_metadata` merges attributes (an empty value deletes) with `canUpdateOwnMetadata`,
//!   and the update goes to everyone, the sender included; joins and leaves go to the others;
//! - an undecodable frame closes the socket;
//! - audio tracks: `add_track` is answered with `track_published` (a `TR_` sid); once the
//!   publisher's offer carries the track (matched by its msid track id = the `cid`), the
//!   participant's update lists it and every other participant's subscriber is offered a
//!   send-only Opus m-line (msid `"<participant_sid>|<track_sid>"`), late joiners in their
//!   first offer; frames are forwarded as they arrive; `mute` updates the track;
//! - text streams (`stream_header`/`stream_chunk`/`stream_trailer`) are forwarded like user
//!   data and recorded; an agent's header may name another participant (a transcription of
//!   the user), which the server keeps and marks `generated`, as LiveKit does.
//!
//! - `/rtc/v1` (what current SDKs try first): the join parameters in `join_request` (`v1.rs`)
//!   and one peer connection (`single_pc.rs`): `subscriber_primary` false, the offer that came
//!   with the join answered after it, no server offers; others' tracks are sent on the
//!   client's receive-only m-lines (`media_sections_requirement`, then the answer's msid and
//!   `mid_to_track_id`), data on the client's own `_reliable`/`_lossy`.
//!
//! - unpublishing as the SDKs do it (no request: the publisher's next offer stops sending on
//!   the track's m-line, which stays): the track leaves the participant's update (to everyone,
//!   no `track_unpublished`), and subscribers stop getting it (their m-line goes inactive in a
//!   new offer, or with one peer connection: `media_sections_requirement`, then an inactive
//!   answer); a republished track is a new `add_track` and a new m-line.
//!
//! Not yet: reconnects, speaker updates.

mod peer;
mod sdp;
mod session;
mod single_pc;
mod token;
mod v1;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use livekit_protocol as proto;
use tokio::sync::{mpsc, watch};

use super::{FakeLiveKit, Project, auth};
use voiceblox_host::transport::livekit::room::{Room, RoomError, RoomEvent, RoomOptions};

use crate::fakes::server::lock;

/// LiveKit's defaults (`pkg/rtc/participant.go`), in seconds as the join response carries them.
const PING_INTERVAL: i32 = 5;
const PING_TIMEOUT: i32 = 15;

/// The SFU's live state and what it recorded, inside the fake's project.
pub(crate) struct Sfu {
    settings: Mutex<Settings>,
    rooms: Mutex<HashMap<String, Vec<Member>>>,
    records: Mutex<Records>,
    /// Bumped on every record, so tests can await a condition instead of sleeping.
    changes: watch::Sender<u64>,
}

#[derive(Clone, Copy)]
struct Settings {
    ping_interval: i32,
    ping_timeout: i32,
    answer_pings: bool,
}

struct Member {
    info: proto::ParticipantInfo,
    to_session: mpsc::Sender<ToSession>,
}

/// What one participant's session is asked to send.
enum ToSession {
    Signal(Box<proto::signal_response::Message>),
    Data {
        bytes: Vec<u8>,
        reliable: bool,
    },
    /// Offer this participant the track (msid stream id, track sid).
    Subscribe {
        stream_id: String,
        track_sid: String,
    },
    /// The track was unpublished: stop sending it to this participant.
    Unsubscribe {
        track_sid: String,
    },
    /// A frame of a track this participant subscribes to.
    Media {
        track_sid: String,
        frame: peer::Frame,
    },
}

#[derive(Default)]
struct Records {
    participants: Vec<RtcParticipant>,
    data: Vec<DataRecord>,
    /// Who, when the update arrived, and the attributes after it.
    attributes: Vec<(String, Instant, HashMap<String, String>)>,
    pings: HashMap<String, usize>,
    /// Who published which track, in order.
    tracks: Vec<(String, proto::TrackInfo)>,
    /// Who muted (true) or unmuted which track, in order.
    mutes: Vec<(String, String, bool)>,
    /// Who unpublished which track, in order.
    unpublished: Vec<(String, String)>,
    /// Text streams received, in order of their headers.
    streams: Vec<TextStreamRecord>,
}

/// A text stream (`stream_header`, `stream_chunk`s, `stream_trailer`) the server forwarded.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStreamRecord {
    pub room: String,
    /// Who sent it.
    pub sender: String,
    /// The participant an agent sent its header for (kept by the server, the text marked
    /// generated), if not itself.
    pub on_behalf_of: Option<String>,
    pub header: proto::data_stream::Header,
    pub chunks: Vec<proto::data_stream::Chunk>,
    pub trailer: Option<proto::data_stream::Trailer>,
}

impl TextStreamRecord {
    /// The chunks' text in index order.
    pub fn text(&self) -> String {
        let mut chunks = self.chunks.clone();
        chunks.sort_by_key(|c| c.chunk_index);
        chunks.iter().map(|c| String::from_utf8_lossy(&c.content)).collect()
    }

    /// The header's attributes with the trailer's on top, as SDK readers see them at the end.
    pub fn attributes(&self) -> HashMap<String, String> {
        let mut attributes = self.header.attributes.clone();
        attributes.extend(self.trailer.iter().flat_map(|t| t.attributes.clone()));
        attributes
    }
}

/// A participant that joined, as the server last knew it.
#[derive(Debug, Clone, PartialEq)]
pub struct RtcParticipant {
    pub room: String,
    pub info: proto::ParticipantInfo,
    pub connected: bool,
    /// Joined over `/rtc/v1` with a single peer connection (else `/rtc`, two).
    pub single_pc: bool,
}

/// A user data packet the server received and forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRecord {
    pub room: String,
    /// The sender's identity as the server stamped it.
    pub sender: String,
    pub topic: Option<String>,
    pub payload: Vec<u8>,
    pub reliable: bool,
    pub destinations: Vec<String>,
}

impl Default for Sfu {
    fn default() -> Self {
        Self {
            settings: Mutex::new(Settings {
                ping_interval: PING_INTERVAL,
                ping_timeout: PING_TIMEOUT,
                answer_pings: true,
            }),
            rooms: Mutex::default(),
            records: Mutex::default(),
            changes: watch::channel(0).0,
        }
    }
}

impl Sfu {
    /// `identity` in `room`, as the server knows it now.
    pub(crate) fn participant(&self, room: &str, identity: &str) -> Option<proto::ParticipantInfo> {
        let rooms = lock(&self.rooms);
        rooms.get(room)?.iter().find(|m| m.info.identity == identity).map(|m| m.info.clone())
    }

    /// The SIP bridge hangs up on `identity` `after` a while (after a transfer): its
    /// connection is told to leave, as the bridge leaves the room for a call it no longer carries.
    pub(crate) fn hang_up_after(&self, room: &str, identity: &str, after: Duration) {
        let to_session = {
            let rooms = lock(&self.rooms);
            let member = rooms.get(room).into_iter().flatten().find(|m| m.info.identity == identity);
            let Some(member) = member else { return };
            member.to_session.clone()
        };
        let leave = proto::LeaveRequest {
            reason: proto::DisconnectReason::ClientInitiated as i32,
            action: proto::leave_request::Action::Disconnect as i32,
            ..Default::default()
        };
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = to_session.send(ToSession::Signal(Box::new(proto::signal_response::Message::Leave(leave)))).await;
        });
    }

    fn record(&self, f: impl FnOnce(&mut Records)) {
        f(&mut lock(&self.records));
        self.changes.send_modify(|n| *n += 1);
    }
}

impl FakeLiveKit {
    /// The keepalive the join response asks for (LiveKit's: 5 s and 15 s). Applies to later joins.
    pub fn set_ping(&self, interval_secs: i32, timeout_secs: i32) {
        let mut settings = lock(&self.project.sfu.settings);
        settings.ping_interval = interval_secs;
        settings.ping_timeout = timeout_secs;
    }

    /// Stop (or resume) answering `ping_req`, to make the link look dead.
    pub fn answer_pings(&self, answer: bool) {
        lock(&self.project.sfu.settings).answer_pings = answer;
    }

    /// Everyone who joined over `/rtc`, in join order, departed ones included.
    pub fn rtc_participants(&self) -> Vec<RtcParticipant> {
        lock(&self.project.sfu.records).participants.clone()
    }

    pub fn rtc_participant(&self, identity: &str) -> Option<RtcParticipant> {
        self.rtc_participants().into_iter().rev().find(|p| p.info.identity == identity)
    }

    /// User data packets received, in order.
    pub fn data_packets(&self) -> Vec<DataRecord> {
        lock(&self.project.sfu.records).data.clone()
    }

    /// Each attribute set a participant had after an `update_metadata`, in order.
    pub fn attribute_history(&self, identity: &str) -> Vec<HashMap<String, String>> {
        let records = lock(&self.project.sfu.records);
        records.attributes.iter().filter(|(who, ..)| who == identity).map(|(.., attrs)| attrs.clone()).collect()
    }

    /// [`FakeLiveKit::attribute_history`] of every participant, with the identity and the
    /// instant each `update_metadata` arrived (for latency measurements).
    pub fn attribute_updates(&self) -> Vec<(String, Instant, HashMap<String, String>)> {
        lock(&self.project.sfu.records).attributes.clone()
    }

    /// The tracks `identity` published (as last updated: muted or not), in order.
    pub fn published_tracks(&self, identity: &str) -> Vec<proto::TrackInfo> {
        let records = lock(&self.project.sfu.records);
        records.tracks.iter().filter(|(who, _)| who == identity).map(|(_, track)| track.clone()).collect()
    }

    /// Text streams on `topic` received, in order.
    pub fn text_streams(&self, topic: &str) -> Vec<TextStreamRecord> {
        let records = lock(&self.project.sfu.records);
        records.streams.iter().filter(|s| s.header.topic == topic).cloned().collect()
    }

    /// The tracks `identity` unpublished (its offer stopped sending them), in order.
    pub fn unpublished_tracks(&self, identity: &str) -> Vec<String> {
        let records = lock(&self.project.sfu.records);
        records.unpublished.iter().filter(|(who, _)| who == identity).map(|(_, sid)| sid.clone()).collect()
    }

    /// The `mute` requests `identity` sent, in order: (track sid, muted).
    pub fn track_mutes(&self, identity: &str) -> Vec<(String, bool)> {
        let records = lock(&self.project.sfu.records);
        records.mutes.iter().filter(|(who, ..)| who == identity).map(|(_, sid, muted)| (sid.clone(), *muted)).collect()
    }

    /// `ping_req`s received from `identity`.
    pub fn pings_from(&self, identity: &str) -> usize {
        lock(&self.project.sfu.records).pings.get(identity).copied().unwrap_or(0)
    }

    /// A token for `identity` in `room` with the grants an agent or a browser gets (join,
    /// publish, subscribe, data, own metadata), signed with this project's key.
    pub fn participant_token(&self, room: &str, identity: &str) -> String {
        let claims = serde_json::json!({
            "iss": self.project.api_key,
            "sub": identity,
            "name": identity,
            "video": {
                "roomJoin": true, "room": room, "canPublish": true, "canSubscribe": true,
                "canPublishData": true, "canUpdateOwnMetadata": true,
            },
        });
        token::sign(claims, &self.project.api_secret, 600)
    }

    /// A token like the one LiveKit's SIP bridge joins a phone caller with: kind `sip`, the
    /// call's id and number as attributes.
    pub fn sip_caller_token(&self, room: &str, identity: &str, call_id: &str) -> String {
        let claims = serde_json::json!({
            "iss": self.project.api_key,
            "sub": identity,
            "name": identity,
            "kind": "sip",
            "attributes": {super::SIP_CALL_ID_ATTRIBUTE: call_id, "sip.phoneNumber": "+15550123"},
            "video": {
                "roomJoin": true, "room": room, "canPublish": true, "canSubscribe": true, "canPublishData": true,
            },
        });
        token::sign(claims, &self.project.api_secret, 600)
    }

    /// Joins `room` as `identity` with the host's own room client, as a second participant
    /// (the "user") next to the code under test.
    pub async fn join(&self, room: &str, identity: &str) -> Result<(Room, mpsc::Receiver<RoomEvent>), RoomError> {
        Room::connect(&self.url(), &self.participant_token(room, identity), RoomOptions::default()).await
    }

    /// Waits until `condition` holds on this fake (checked after every recorded change), or
    /// panics after `timeout` naming `what`.
    pub async fn wait_until(&self, what: &str, timeout: Duration, condition: impl Fn(&FakeLiveKit) -> bool) {
        let mut changes = self.project.sfu.changes.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                if condition(self) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out after {timeout:?} waiting for {what}");
    }
}

/// LiveKit's refusals before the upgrade: plain text with the status `HandleError` writes.
fn refuse(status: StatusCode, message: &str) -> Response {
    (status, [("content-type", "text/plain; charset=utf-8")], message.to_string()).into_response()
}

/// The authentication middleware's verdict: the token from the `Authorization: Bearer` header,
/// else the `access_token` query; `Ok(None)` when there is none.
fn authenticate(
    project: &Project,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Option<String>, Refusal> {
    let token = match headers.get("authorization") {
        Some(header) => match header.to_str().unwrap_or_default().strip_prefix("Bearer ") {
            Some(token) => Some(token.to_string()),
            None => {
                return Err(Refusal(
                    StatusCode::UNAUTHORIZED,
                    "invalid authorization header. Must start with Bearer ".into(),
                ));
            }
        },
        None => query.get("access_token").filter(|t| !t.is_empty()).cloned(),
    };
    if let Some(token) = &token
        && let Err(refusal) = auth::verify(token, &project.api_key, &project.api_secret)
    {
        return Err(Refusal(StatusCode::UNAUTHORIZED, refusal.0));
    }
    Ok(token)
}

/// What `/rtc` checks of a verified token before joining.
fn admit(token: Option<String>) -> Result<(String, token::JoinClaims), Refusal> {
    let Some(token) = token else {
        return Err(Refusal(StatusCode::UNAUTHORIZED, "no permissions to access the room".into()));
    };
    let claims = token::claims(&token);
    if !claims.video.room_join {
        return Err(Refusal(StatusCode::UNAUTHORIZED, "permissions denied".into()));
    }
    if claims.sub.is_empty() {
        return Err(Refusal(StatusCode::BAD_REQUEST, "identity cannot be empty".into()));
    }
    if claims.video.room.is_empty() {
        return Err(Refusal(StatusCode::BAD_REQUEST, "no room name".into()));
    }
    Ok((token, claims))
}

/// A refusal before the upgrade: its status and plain-text message.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, &self.1)
    }
}

/// `GET /rtc/validate`: SDKs call it after a failed connect to show the server's reason.
pub(crate) async fn validate(
    State(project): State<std::sync::Arc<Project>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match authenticate(&project, &query, &headers).and_then(admit) {
        Ok(_) => (StatusCode::OK, "success").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /rtc/v1/validate`: the same, the join request checked too.
pub(crate) async fn validate_v1(
    State(project): State<std::sync::Arc<Project>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let checked = authenticate(&project, &query, &headers).and_then(admit).and_then(|_| v1::join_request(&query));
    match checked {
        Ok(_) => (StatusCode::OK, "success").into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `/rtc`: LiveKit's two peer connections, the join parameters in the query.
pub(crate) async fn handle(
    State(project): State<std::sync::Arc<Project>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    join(project, &query, &headers, upgrade, false)
}

/// `/rtc/v1`: current SDKs' single peer connection, the join parameters in `join_request`.
pub(crate) async fn handle_v1(
    State(project): State<std::sync::Arc<Project>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    join(project, &query, &headers, upgrade, true)
}

fn join(
    project: std::sync::Arc<Project>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    v1: bool,
) -> Response {
    let token = match authenticate(&project, query, headers) {
        Ok(token) => token,
        Err(refusal) => return refusal.into_response(),
    };
    // `rtcservice.go` answers anything but a WebSocket upgrade with an empty 404.
    let Ok(upgrade) = upgrade else { return StatusCode::NOT_FOUND.into_response() };
    let (token, claims) = match admit(token) {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.into_response(),
    };
    // `protocol` is the signalling version; `client_protocol` (data streams, RPC) is separate and
    // reported to the other participants as sent (absent: 0), as the server does.
    let (versions, mode) = if v1 {
        let request = match v1::join_request(query) {
            Ok(request) => request,
            Err(refusal) => return refusal.into_response(),
        };
        let client = request.client_info.unwrap_or_default();
        let versions = session::Versions { signal: client.protocol, client: client.client_protocol };
        (versions, session::JoinMode::SinglePc { publisher_offer: request.publisher_offer })
    } else {
        let version = |name: &str| query.get(name).and_then(|p| p.parse::<i32>().ok()).unwrap_or(0);
        let versions = session::Versions { signal: version("protocol"), client: version("client_protocol") };
        (versions, session::JoinMode::TwoPc)
    };
    upgrade.on_upgrade(move |socket| session::run(socket, project, token, claims, versions, mode))
}
