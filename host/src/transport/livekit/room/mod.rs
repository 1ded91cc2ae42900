//! A LiveKit room participant without libwebrtc (DESIGN decision 5): `/rtc` signalling and
//! LiveKit's two peer connections on str0m.
//!
//! 1. [`Room::connect`] opens `{url}/rtc` with an access token and waits for the join
//!    response and the primary peer connection (the subscriber, which the server offers).
//! 2. Read [`RoomEvent`]s from the returned receiver: participants joining, changing
//!    attributes, leaving; user data packets; the end of the session. Keep reading it: the
//!    session's driver waits when the channel is full.
//! 3. [`Room::publish_data`] sends a `UserPacket` on `_reliable` or `_lossy`;
//!    [`Room::set_attributes`] updates this participant's attributes (`lk.agent.state`).
//! 4. [`Room::start_audio`] publishes the agent's voice track and listens to the user's
//!    microphone: it returns the session's [`AudioIo`] (20 ms frames at 48 kHz both ways).
//! 5. [`Room::leave`] says goodbye to the server and closes everything.
//!
//! The protocol is a sans-I/O machine ([`session::RoomSession`]); one task per room (the
//! driver) owns the WebSocket, both peers' UDP sockets and the clock, and feeds it. A
//! [`Room`] handle talks to the driver over a bounded channel and reads a shared snapshot.
//!
//! ```no_run
//! # async fn run(url: &str, token: &str) -> Result<(), voiceblox_host::transport::livekit::room::RoomError> {
//! use voiceblox_host::transport::livekit::room::{Room, RoomEvent, RoomOptions};
//! let (room, mut events) = Room::connect(url, token, RoomOptions::default()).await?;
//! let agent_config = room.metadata(); // the AgentConfig JSON
//! room.publish_data(br#"{"type":"hello"}"#.to_vec(), "voiceblox.agent.events", true).await?;
//! while let Some(event) = events.recv().await {
//!     if let RoomEvent::Disconnected { reason } = event {
//!         tracing::info!(%reason, "left the room");
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```

mod audio;
pub mod data;
mod driver;
pub mod error;
pub mod role;
pub mod session;
pub mod signal;
pub mod transcription;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livekit_protocol as proto;
use tokio::sync::{mpsc, oneshot, watch};

pub use audio::{AudioStats, is_user};
pub use data::MAX_DATA_PAYLOAD;
pub use error::RoomError;

use crate::audio::{AudioEnds, AudioIo};
use crate::transport::webrtc::PeerSocket;
use driver::{Command, Driver, DriverAudio};
use session::{RoomSession, SessionSetup};

/// Room events a caller may fall behind on before the driver waits.
const EVENT_CAPACITY: usize = 256;
const COMMAND_CAPACITY: usize = 32;

/// How to join. `Default`: auto-subscribe on, 10 s to connect.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    /// Subscribe to every track published in the room (the server then offers them).
    pub auto_subscribe: bool,
    /// For the WebSocket, the join response and the primary peer connection together; also
    /// the longest [`Room::publish_data`] waits for the publisher's data channel.
    pub connect_timeout: Duration,
}

impl Default for RoomOptions {
    fn default() -> Self {
        Self { auto_subscribe: true, connect_timeout: Duration::from_secs(10) }
    }
}

/// What happens in the room, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    ParticipantConnected(proto::ParticipantInfo),
    /// Attributes, metadata, name or state of a remote participant changed.
    ParticipantUpdated(proto::ParticipantInfo),
    ParticipantDisconnected(proto::ParticipantInfo),
    /// A user packet; `participant_identity` is the sender as the server stamped it.
    Data {
        participant_identity: String,
        topic: Option<String>,
        payload: Vec<u8>,
        reliable: bool,
    },
    /// The last event: `reason` is LiveKit's disconnect reason (`CLIENT_INITIATED`,
    /// `ROOM_DELETED`, ...) or what broke (`ping timeout`, a closed socket).
    Disconnected {
        reason: String,
    },
}

/// A joined room. Clones share the session; it ends on [`Room::leave`], when the server ends
/// it, or when the connection is lost (all reported as [`RoomEvent::Disconnected`]).
#[derive(Clone)]
pub struct Room {
    shared: Arc<Mutex<Snapshot>>,
    commands: mpsc::Sender<Command>,
    options: RoomOptions,
}

/// What the handles read without asking the driver.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    room: proto::Room,
    local: proto::ParticipantInfo,
    /// Remote participants in join order.
    remotes: Vec<proto::ParticipantInfo>,
    /// The newest token (the server refreshes it); used to reconnect.
    token: String,
    /// Why the session ended, once it has.
    ended: Option<String>,
}

fn lock(snapshot: &Mutex<Snapshot>) -> MutexGuard<'_, Snapshot> {
    // The driver never panics while holding it; recover the data if a caller's thread did.
    snapshot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Room {
    /// Joins with a LiveKit access token (`url` is `ws(s)://host`, like `LIVEKIT_URL`).
    pub async fn connect(
        url: &str,
        token: &str,
        options: RoomOptions,
    ) -> Result<(Room, mpsc::Receiver<RoomEvent>), RoomError> {
        let rtc_url = signal::rtc_url(url, options.auto_subscribe)?;
        let timeout = options.connect_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = |what| RoomError::Timeout { what, after: timeout };
        let (mut socket, server) = tokio::time::timeout_at(deadline, signal::connect(&rtc_url, token))
            .await
            .map_err(|_| timed_out("accept the WebSocket"))??;
        let join = tokio::time::timeout_at(deadline, signal::read_join(&mut socket))
            .await
            .map_err(|_| timed_out("send the join response"))??;
        let local = join.participant.clone().unwrap_or_default();
        tracing::info!(
            room = %join.room.as_ref().map_or("", |r| r.name.as_str()),
            identity = %local.identity,
            sid = %local.sid,
            subscriber_primary = join.subscriber_primary,
            "joined LiveKit room"
        );
        let snapshot = Snapshot {
            room: join.room.clone().unwrap_or_default(),
            local,
            remotes: join.other_participants.clone(),
            token: token.to_string(),
            ended: None,
        };
        let shared = Arc::new(Mutex::new(snapshot.clone()));
        let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
        let (primary_tx, mut primary_rx) = watch::channel(PrimaryState::Connecting);
        let publisher = PeerSocket::bind(server).await?;
        let subscriber = PeerSocket::bind(server).await?;
        let setup = SessionSetup {
            join,
            snapshot,
            publisher_addr: publisher.local_addr(),
            subscriber_addr: subscriber.local_addr(),
            publish_timeout: timeout,
            unix_time: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
        };
        let session = RoomSession::new(setup, driver::now())?;
        let driver = Driver {
            session,
            socket,
            publisher,
            subscriber,
            shared: shared.clone(),
            events: event_tx,
            commands: command_rx,
            primary: primary_tx,
            audio: DriverAudio::default(),
        };
        tokio::spawn(driver.run());
        // Like the SDKs: connected means the primary transport is up, so data sent to us from
        // now on arrives.
        let waited = tokio::time::timeout_at(deadline, primary_rx.wait_for(|s| *s != PrimaryState::Connecting))
            .await
            // The state, not the watch's guard: the error paths await below.
            .map(|state| state.map(|s| *s));
        let room = Room { shared, commands: command_tx, options };
        match waited {
            Ok(Ok(PrimaryState::Connected)) => Ok((room, event_rx)),
            Ok(_) => {
                Err(RoomError::Disconnected { reason: room.ended().unwrap_or_else(|| "the session ended".into()) })
            }
            Err(_) => {
                let _ = room.leave().await;
                Err(timed_out("connect the primary peer connection"))
            }
        }
    }

    pub fn name(&self) -> String {
        lock(&self.shared).room.name.clone()
    }

    /// The room's metadata (voiceblox keeps the AgentConfig JSON here).
    pub fn metadata(&self) -> String {
        lock(&self.shared).room.metadata.clone()
    }

    pub fn local_identity(&self) -> String {
        lock(&self.shared).local.identity.clone()
    }

    pub fn local_sid(&self) -> String {
        lock(&self.shared).local.sid.clone()
    }

    /// This participant as the server last described it (attributes included).
    pub fn local_participant(&self) -> proto::ParticipantInfo {
        lock(&self.shared).local.clone()
    }

    /// The newest access token: the one joined with until the server sends a refreshed one.
    pub fn token(&self) -> String {
        lock(&self.shared).token.clone()
    }

    /// The other participants present now, in join order.
    pub fn remote_participants(&self) -> Vec<proto::ParticipantInfo> {
        lock(&self.shared).remotes.clone()
    }

    /// Sends `DataPacket { kind, participant_identity, value: user(UserPacket { payload, topic }) }`
    /// on the publisher's `_reliable` (or `_lossy`) channel, negotiating the publisher first if
    /// needed and waiting (up to the connect timeout) until the channel is open. Refuses
    /// payloads of [`MAX_DATA_PAYLOAD`] bytes or more.
    pub async fn publish_data(&self, payload: Vec<u8>, topic: &str, reliable: bool) -> Result<(), RoomError> {
        if payload.len() >= MAX_DATA_PAYLOAD {
            return Err(RoomError::PayloadTooLarge { size: payload.len(), max: MAX_DATA_PAYLOAD });
        }
        self.call(session::Command::Publish { payload, topic: topic.to_string(), reliable }).await
    }

    /// Publishes a transcript as an `lk.transcription` text stream (see [`transcription`]): the
    /// user's words (`user`, said by the user heard, or the first user) or the agent's.
    pub async fn publish_transcript(&self, user: bool, text: &str, r#final: bool) -> Result<(), RoomError> {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let timestamp_ms = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
        self.call(session::Command::Transcript { user, text: text.to_string(), r#final, timestamp_ms }).await
    }

    /// Sends `UpdateParticipantMetadata` with these attributes. The server merges them into the
    /// participant's (an empty value deletes a key) and tells everyone, this participant too.
    pub async fn set_attributes(&self, attributes: HashMap<String, String>) -> Result<(), RoomError> {
        self.call(session::Command::SetAttributes { attributes }).await
    }

    /// `LeaveRequest { reason: CLIENT_INITIATED, action: DISCONNECT }`, then closes the socket and
    /// both peer connections. Leaving a room that has already ended is not an error.
    pub async fn leave(&self) -> Result<(), RoomError> {
        match self.call(session::Command::Leave).await {
            Err(RoomError::Disconnected { .. }) | Ok(()) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Publishes the agent's audio track (`AddTrackRequest`, then an offer once the server
    /// answers `track_published`) and listens to `listen_to`'s microphone, or the first user's.
    /// Returns once the server accepted the track; the [`AudioIo`] carries 20 ms frames of
    /// 48 kHz mono both ways (the agent's are sent as they come: the caller paces them).
    pub async fn start_audio(&self, listen_to: Option<String>) -> Result<AudioIo, RoomError> {
        let (io, ends) = AudioIo::pair();
        self.call_with(session::Command::StartAudio { listen_to }, Some(ends)).await?;
        Ok(io)
    }

    fn ended(&self) -> Option<String> {
        lock(&self.shared).ended.clone()
    }

    async fn call(&self, command: session::Command) -> Result<(), RoomError> {
        self.call_with(command, None).await
    }

    async fn call_with(&self, command: session::Command, audio: Option<AudioEnds>) -> Result<(), RoomError> {
        let gone = || RoomError::Disconnected { reason: self.ended().unwrap_or_else(|| "the session ended".into()) };
        let (done, answer) = oneshot::channel();
        self.commands.send(Command { command, done, audio }).await.map_err(|_| gone())?;
        // The driver answers every command, within the publish timeout at most.
        let limit = self.options.connect_timeout + Duration::from_secs(1);
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(RoomError::Timeout { what: "answer", after: limit }),
        }
    }
}

/// The primary peer connection, as `connect` waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimaryState {
    Connecting,
    Connected,
    Ended,
}
