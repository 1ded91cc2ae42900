//! Getting an agent into a room whose metadata already holds its AgentConfig.

use axum::http::StatusCode;
use voiceblox_host::transport::livekit::{AGENT_NAME, ControlPlane};

use crate::error::ApiError;
use crate::settings::RuntimeMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentLauncher {
    /// `CreateDispatch` to the `voiceblox` agent: any worker registered under that name (ours,
    /// or Voiceblox's TypeScript/Python ones) joins and reads the room metadata.
    Dispatch,
    /// This process joins the room itself. Not wired yet: the LiveKit room client (`/rtc`
    /// signalling and media on str0m) is still being built.
    InProcess,
}

impl AgentLauncher {
    pub fn for_mode(mode: RuntimeMode) -> Self {
        match mode {
            RuntimeMode::Worker => Self::Dispatch,
            RuntimeMode::InProcess => Self::InProcess,
        }
    }

    pub async fn launch(self, control: &ControlPlane, room: &str) -> Result<(), ApiError> {
        match self {
            Self::Dispatch => {
                // The config travels in the room metadata, which the job carries; repeating it
                // in the dispatch metadata would only double the copies of any keys in it.
                let dispatch = control.create_dispatch(room, AGENT_NAME, "").await.map_err(ApiError::livekit)?;
                tracing::info!(room, dispatch = %dispatch.id, agent = AGENT_NAME, "agent dispatched");
                Ok(())
            }
            Self::InProcess => Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "inprocess_not_ready",
                "the in-process agent cannot join LiveKit rooms yet; run a voiceblox worker and set \
                 AGENT_RUNTIME=worker",
            )),
        }
    }
}
