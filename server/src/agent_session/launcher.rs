//! Getting an agent into a room whose metadata already holds its AgentConfig.

use voiceblox_host::agent::{self, AgentJob};
use voiceblox_host::config::ValidConfig;
use voiceblox_host::error_text;
use voiceblox_host::plugin::PluginRuntime;
use voiceblox_host::transport::livekit::control::sealed;
use voiceblox_host::transport::livekit::{AGENT_NAME, ControlPlane, DispatchSecrets};

use super::local::LocalSessions;
use crate::error::ApiError;
use crate::settings::RuntimeMode;

/// What an in-process agent runs with.
pub struct LocalAgent<'a> {
    pub sessions: &'a LocalSessions,
    /// The server's plugins, with the request's keys standing in for its environment.
    pub runtime: PluginRuntime,
    /// The request's config as the API validated it: the agent runs this, not a second parse
    /// of the room metadata.
    pub config: ValidConfig,
    /// Where the session is recorded, if it is.
    pub record: Option<voiceblox_host::record::RecordSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentLauncher {
    /// `CreateDispatch` to the `voiceblox` agent: any worker registered under that name (ours,
    /// or Voiceblox's TypeScript/Python ones) joins and reads the room metadata; ours also
    /// opens the keys sealed into the dispatch metadata.
    Dispatch,
    /// This process joins the room itself, as a worker would, with a token it mints.
    InProcess,
}

impl AgentLauncher {
    pub fn for_mode(mode: RuntimeMode) -> Self {
        match mode {
            RuntimeMode::Worker => Self::Dispatch,
            RuntimeMode::InProcess => Self::InProcess,
        }
    }

    /// `secrets`: the config with its keys and the request's keys, for a dispatched worker
    /// (sealed; see `transport::livekit::control::sealed`).
    pub async fn launch(
        self,
        control: &ControlPlane,
        room: &str,
        local: LocalAgent<'_>,
        secrets: Option<DispatchSecrets>,
    ) -> Result<(), ApiError> {
        match self {
            Self::Dispatch => {
                let metadata = match secrets {
                    Some(secrets) => {
                        sealed::seal(control.credentials(), room, &secrets).map_err(|e| ApiError::internal(&e))?
                    }
                    None => String::new(),
                };
                let dispatch = control.create_dispatch(room, AGENT_NAME, &metadata).await.map_err(ApiError::livekit)?;
                tracing::info!(room, dispatch = %dispatch.id, agent = AGENT_NAME, "agent dispatched");
                Ok(())
            }
            Self::InProcess => {
                let identity = format!("agent-{room}");
                let token = control.agent_token(room, &identity).map_err(ApiError::livekit)?;
                let url = control.credentials().url().to_string();
                let job = AgentJob {
                    config: Some(local.config),
                    control: Some(control.credentials().clone()),
                    record: local.record,
                    ..AgentJob::new(local.runtime)
                };
                let name = room.to_string();
                local.sessions.spawn(room, move |stop| async move {
                    let room = name;
                    match agent::join_and_run(&url, &token, job, stop).await {
                        Ok(ending) => tracing::info!(room, ?ending, "in-process session ended"),
                        Err(error) => {
                            tracing::warn!(room, error = %error_text::chain(&error), "in-process session failed")
                        }
                    }
                });
                tracing::info!(room, identity, "in-process agent joining");
                Ok(())
            }
        }
    }
}
