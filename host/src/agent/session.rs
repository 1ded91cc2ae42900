use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::AgentError;
use super::link::{Presence, RoomLink};
use super::publisher::RoomPublisher;
use crate::audio::AudioFrame;
use crate::config::{AgentConfig, ConfigError, validate};
use crate::error_text;
use crate::events::{AgentEvent, AgentState, ErrorCode, EventSink, FanOutSink};
use crate::flow::{FlowContext, setup};
use crate::plugin::PluginRuntime;
use crate::providers::RuntimeCatalog;
use crate::voice::{self, Ending, VoiceIo, VoiceOptions};

/// How long an agent waits in an empty room for its user before giving up.
pub const USER_WAIT: Duration = Duration::from_secs(120);
/// How long a refused session waits for a user to tell why before it gives up.
const ERROR_AUDIENCE_WAIT: Duration = Duration::from_secs(10);
/// How long the events still queued at the end may take to go out.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// One agent session to run in a room the agent has joined.
pub struct AgentJob {
    pub runtime: PluginRuntime,
    pub options: VoiceOptions,
    /// Also receives every event (the worker's metrics).
    pub observer: Option<Arc<dyn EventSink>>,
    pub user_wait: Duration,
}

impl AgentJob {
    pub fn new(runtime: PluginRuntime) -> Self {
        Self { runtime, options: VoiceOptions::default(), observer: None, user_wait: USER_WAIT }
    }
}

/// Runs the session: reads the config from the room `metadata`, waits for a user, talks until
/// the conversation ends, the last user leaves, the room closes or `stop` fires (then the
/// post-call steps still run). A refused config fails at once; it is reported in the room as an
/// `error` event when a user is there or comes within a few seconds.
///
/// Leaving the room is the caller's: it owns the connection.
pub async fn run(
    job: AgentJob,
    metadata: &str,
    link: Arc<dyn RoomLink>,
    mut presence: mpsc::Receiver<Presence>,
    stop: CancellationToken,
) -> Result<Ending, AgentError> {
    // Before anyone is here, LiveKit UIs still show the agent as starting.
    if let Err(error) = link.set_agent_state(AgentState::Initializing).await {
        tracing::warn!(%error, "could not set the agent state attribute");
    }
    let mut users = BTreeSet::new();
    let config = match parse(metadata, &job.runtime) {
        Ok(config) => Arc::new(config),
        Err(error) => {
            let message = error_text::chain(&error);
            tracing::warn!(%message, "session refused");
            let event = AgentEvent::error(ErrorCode::InvalidConfig, message);
            if let Some(observer) = &job.observer {
                observer.emit(event.clone());
            }
            // Said to the user if one comes soon, so the page can show why nobody answers.
            let wait = job.user_wait.min(ERROR_AUDIENCE_WAIT);
            if wait_for_user(&mut presence, &mut users, wait, &stop).await {
                let (publisher, publishing) = RoomPublisher::spawn(link);
                publisher.emit(event);
                publishing.finish(FLUSH_TIMEOUT).await;
            }
            return Err(error);
        }
    };
    if !wait_for_user(&mut presence, &mut users, job.user_wait, &stop).await {
        tracing::info!("no user joined; the agent leaves");
        return Ok(Ending::UserLeft);
    }

    let (publisher, publishing) = RoomPublisher::spawn(link);
    let mut sinks: Vec<Arc<dyn EventSink>> = vec![Arc::new(publisher)];
    sinks.extend(job.observer);
    let sink: Arc<dyn EventSink> = Arc::new(FanOutSink(sinks));

    let tools = setup::tools(&config, &job.runtime, sink.as_ref()).await;
    let ctx = Arc::new(FlowContext::new(config, job.runtime, tools, sink));
    let (input_tx, input) = mpsc::channel::<AudioFrame>(16);
    let (output, mut agent_audio) = mpsc::channel::<AudioFrame>(64);
    // The agent's audio track arrives with Opus publishing; until then its voice goes nowhere.
    let drain = tokio::spawn(async move { while agent_audio.recv().await.is_some() {} });

    let session = voice::run(ctx, job.options, VoiceIo { input, output });
    tokio::pin!(session);
    // Dropping the microphone ends the session the way a user hanging up does.
    let mut microphone = Some(input_tx);
    let ending = loop {
        tokio::select! {
            ending = &mut session => break ending,
            _ = stop.cancelled(), if microphone.is_some() => {
                tracing::info!("agent stopped");
                microphone = None;
            }
            change = presence.recv(), if microphone.is_some() => match change {
                Some(Presence::UserJoined(identity)) => {
                    users.insert(identity);
                }
                Some(Presence::UserLeft(identity)) => {
                    users.remove(&identity);
                    if users.is_empty() {
                        tracing::info!(%identity, "the last user left");
                        microphone = None;
                    }
                }
                Some(Presence::Closed(reason)) => {
                    tracing::info!(%reason, "the agent is out of the room");
                    microphone = None;
                }
                None => microphone = None,
            },
        }
    };
    drop(microphone);
    drain.abort();
    publishing.finish(FLUSH_TIMEOUT).await;
    Ok(ending)
}

/// Whether a user is in the room (or came within `wait`).
async fn wait_for_user(
    presence: &mut mpsc::Receiver<Presence>,
    users: &mut BTreeSet<String>,
    wait: Duration,
    stop: &CancellationToken,
) -> bool {
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return false,
            _ = stop.cancelled() => return false,
            change = presence.recv() => match change {
                Some(Presence::UserJoined(identity)) => {
                    users.insert(identity);
                    return true;
                }
                Some(Presence::UserLeft(identity)) => {
                    users.remove(&identity);
                }
                Some(Presence::Closed(_)) | None => return false,
            },
        }
    }
}

fn parse(metadata: &str, runtime: &PluginRuntime) -> Result<AgentConfig, AgentError> {
    if metadata.trim().is_empty() {
        return Err(AgentError::NoMetadata);
    }
    let config = AgentConfig::from_json(metadata).map_err(AgentError::InvalidConfig)?;
    let warnings =
        ConfigError::check(validate(&config, &RuntimeCatalog(runtime))).map_err(AgentError::InvalidConfig)?;
    for warning in &warnings {
        tracing::info!(%warning, "agent config warning");
    }
    Ok(config)
}
