//! The agent in a LiveKit room: join with a token, run the session, leave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;
use livekit_protocol as proto;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::AgentError;
use super::link::{AGENT_STATE_ATTRIBUTE, LinkError, Presence, RoomLink};
use super::session::{self, AgentJob};
use crate::events::{AgentState, EVENTS_TOPIC};
use crate::transport::livekit::room::{Room, RoomError, RoomEvent, RoomOptions};
use crate::voice::Ending;

/// Why an agent's time in a LiveKit room failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    #[error("joining the room")]
    Room(#[from] RoomError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The link to the room died mid-session (a ping timeout, the signalling socket lost).
    #[error("lost the room: {reason}")]
    Lost { reason: String },
}

/// How LiveKit ends a session on purpose (`DisconnectReason` names); anything else is a failure.
const ENDED_ON_PURPOSE: &[&str] = &["CLIENT_INITIATED", "ROOM_DELETED", "ROOM_CLOSED", "PARTICIPANT_REMOVED"];

/// Joins the room at `url` with `token`, runs the session there (config from the room
/// metadata), then leaves.
pub async fn join_and_run(url: &str, token: &str, job: AgentJob, stop: CancellationToken) -> Result<Ending, JoinError> {
    let (room, events) = Room::connect(url, token, RoomOptions::default()).await?;
    let metadata = room.metadata();
    let (presence_tx, presence) = mpsc::channel(16);
    let lost = Arc::new(Mutex::new(None));
    let watcher = tokio::spawn(watch_presence(room.remote_participants(), events, presence_tx, lost.clone()));
    let result = session::run(job, &metadata, Arc::new(LiveKitLink(room.clone())), presence, stop).await;
    watcher.abort();
    if let Err(error) = room.leave().await {
        tracing::warn!(%error, room = %room.name(), "could not leave the room cleanly");
    }
    let ending = result?;
    match lost.lock().unwrap_or_else(PoisonError::into_inner).take() {
        Some(reason) if !ENDED_ON_PURPOSE.contains(&reason.as_str()) => Err(JoinError::Lost { reason }),
        _ => Ok(ending),
    }
}

/// A joined room as a session's [`RoomLink`].
pub struct LiveKitLink(pub Room);

impl RoomLink for LiveKitLink {
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async move { Ok(self.0.publish_data(json, EVENTS_TOPIC, true).await?) })
    }

    fn set_agent_state(&self, state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        let attributes = HashMap::from([(AGENT_STATE_ATTRIBUTE.to_string(), state.as_str().to_string())]);
        Box::pin(async move { Ok(self.0.set_attributes(attributes).await?) })
    }
}

/// Whether a participant is someone the agent talks to: a browser or a phone caller, not
/// another agent or a recorder.
fn is_user(participant: &proto::ParticipantInfo) -> bool {
    use proto::participant_info::Kind;
    !matches!(Kind::try_from(participant.kind), Ok(Kind::Agent | Kind::Egress))
}

/// Turns the room's events into who-is-here changes for the session, starting with the users
/// already present when the agent joined.
/// The reason the room ended, if it did, goes to `ended`.
async fn watch_presence(
    present: Vec<proto::ParticipantInfo>,
    mut events: mpsc::Receiver<RoomEvent>,
    presence: mpsc::Sender<Presence>,
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
