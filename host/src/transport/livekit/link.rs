//! A joined LiveKit room as a session's [`UserSide`]: events published on
//! `voiceblox.agent.events`, the agent's state in `lk.agent.state`, transcripts also as
//! `lk.transcription` text streams, and the room's participants turned into who-is-here changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;
use livekit_protocol as proto;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::control::ControlPlane;
use super::credentials::LiveKitCredentials;
use super::room::{Room, RoomEvent, is_user};
use crate::audio::AudioIo;
use crate::events::{AgentState, EVENTS_TOPIC, Role};
use crate::transport::{AGENT_STATE_ATTRIBUTE, CONTROL_QUEUE, LinkError, Presence, UserLink, UserSide};
use crate::voice::control::{CONTROL_TOPIC, TurnControl};

/// A joined room as a session's [`UserLink`].
pub struct LiveKitLink {
    pub room: Room,
    /// The project's API key, when the agent has one: transfers of phone callers need it.
    pub control: Option<LiveKitCredentials>,
}

impl UserLink for LiveKitLink {
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async move { Ok(self.room.publish_data(json, EVENTS_TOPIC, true).await?) })
    }

    fn set_agent_state(&self, state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        let attributes = HashMap::from([(AGENT_STATE_ATTRIBUTE.to_string(), state.as_str().to_string())]);
        Box::pin(async move { Ok(self.room.set_attributes(attributes).await?) })
    }

    fn publish_transcript(&self, role: Role, text: &str, r#final: bool) -> BoxFuture<'_, Result<(), LinkError>> {
        let text = text.to_string();
        Box::pin(async move { Ok(self.room.publish_transcript(role == Role::User, &text, r#final).await?) })
    }

    /// `SIP/TransferSIPParticipant` for the room's phone caller (a SIP participant).
    fn transfer(&self, to: &str, play_dialtone: bool) -> BoxFuture<'_, Result<(), LinkError>> {
        let to = to.to_string();
        Box::pin(async move {
            let caller = self
                .room
                .remote_participants()
                .into_iter()
                .find(|p| p.kind == proto::participant_info::Kind::Sip as i32);
            let Some(caller) = caller else {
                return Err("only a phone caller can be transferred, and nobody in the room is on a phone line".into());
            };
            let Some(credentials) = self.control.clone() else {
                return Err("this agent has no LiveKit API key to transfer the call with".into());
            };
            let control = ControlPlane::new(credentials);
            control.transfer_sip_participant(&self.room.name(), &caller.identity, &to, play_dialtone).await?;
            tracing::info!(caller = %caller.identity, %to, "call transferred");
            Ok(())
        })
    }
}

/// The room's side of a session, and how it ended once it has.
pub struct RoomSide {
    pub side: UserSide,
    /// The disconnect reason, once the room ended.
    pub ended: Arc<Mutex<Option<String>>>,
    /// Watches the room's events; abort it when the session is over.
    pub watcher: JoinHandle<()>,
}

impl RoomSide {
    pub fn ended(&self) -> Option<String> {
        self.ended.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The user's side of a session in `room`, whose events arrive on `events` and whose audio
/// [`Room::start_audio`] started.
/// `control`: the project's API key, if the agent has it (to transfer phone callers).
pub fn user_side(
    room: &Room,
    events: mpsc::Receiver<RoomEvent>,
    audio: AudioIo,
    control: Option<LiveKitCredentials>,
) -> RoomSide {
    let (presence_tx, presence) = mpsc::channel(16);
    let (controls_tx, controls) = mpsc::channel(CONTROL_QUEUE);
    let ended = Arc::new(Mutex::new(None));
    let watcher =
        tokio::spawn(watch_presence(room.remote_participants(), events, presence_tx, controls_tx, ended.clone()));
    let link = Arc::new(LiveKitLink { room: room.clone(), control });
    let side = UserSide { link, presence, audio, controls };
    RoomSide { side, ended, watcher }
}

/// Turns the room's events into who-is-here changes for the session, starting with the users
/// already present when the agent joined, and the users' turn controls (data on
/// [`CONTROL_TOPIC`]). The reason the room ended, if it did, goes to `ended`.
async fn watch_presence(
    present: Vec<proto::ParticipantInfo>,
    mut events: mpsc::Receiver<RoomEvent>,
    presence: mpsc::Sender<Presence>,
    controls: mpsc::Sender<TurnControl>,
    ended: Arc<Mutex<Option<String>>>,
) {
    for participant in present.iter().filter(|p| is_user(p)) {
        if presence.send(Presence::UserJoined(participant.identity.clone())).await.is_err() {
            return;
        }
    }
    while let Some(event) = events.recv().await {
        let change = match event {
            RoomEvent::ParticipantConnected(p) if is_user(&p) => Presence::UserJoined(p.identity),
            RoomEvent::ParticipantDisconnected(p) if is_user(&p) => Presence::UserLeft(p.identity),
            RoomEvent::Data { participant_identity, topic: Some(topic), payload, .. } if topic == CONTROL_TOPIC => {
                match TurnControl::parse(&payload) {
                    Ok(control) => {
                        if controls.try_send(control).is_err() {
                            tracing::warn!(?control, "the session is not taking turn controls; dropped");
                        }
                    }
                    Err(error) => tracing::warn!(%error, from = %participant_identity, "a turn control ignored"),
                }
                continue;
            }
            RoomEvent::Disconnected { reason } => {
                *ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason.clone());
                Presence::Closed(reason)
            }
            _ => continue,
        };
        let closed = matches!(change, Presence::Closed(_));
        if presence.send(change).await.is_err() || closed {
            return;
        }
    }
    let _ = presence.send(Presence::Closed("the room connection ended".into())).await;
}
