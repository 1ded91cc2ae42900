//! The agent in a LiveKit room: join with a token, run the session, leave.

use tokio_util::sync::CancellationToken;

use super::error::AgentError;
use super::session::{self, AgentJob};
use crate::transport::livekit::link::user_side;
use crate::transport::livekit::room::{Room, RoomError, RoomOptions};
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
    let audio = match room.start_audio(None).await {
        Ok(audio) => audio,
        Err(error) => {
            let _ = room.leave().await;
            return Err(error.into());
        }
    };
    let side = user_side(&room, events, audio, job.control.clone());
    let (ended, watcher) = (side.ended.clone(), side.watcher);
    let result = session::run(job, &metadata, side.side, stop).await;
    watcher.abort();
    if let Err(error) = room.leave().await {
        tracing::warn!(%error, room = %room.name(), "could not leave the room cleanly");
    }
    let ending = result?;
    let reason = ended.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    match reason {
        Some(reason) if !ENDED_ON_PURPOSE.contains(&reason.as_str()) => Err(JoinError::Lost { reason }),
        _ => Ok(ending),
    }
}
