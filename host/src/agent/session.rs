use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::AgentError;
use super::publisher::RoomPublisher;
use crate::config::{Medium, ValidConfig};
use crate::error_text;
use crate::events::{AgentEvent, AgentState, ErrorCode, EventSink, FanOutSink};
use crate::flow::{FlowContext, setup};
use crate::plugin::PluginRuntime;
use crate::providers::RuntimeCatalog;
use crate::record::format::RecordedMedium;
use crate::record::{self, RecordSettings};
use crate::transport::livekit::SealError;
use crate::transport::livekit::credentials::LiveKitCredentials;
use crate::transport::{Presence, UserSide};
use crate::voice::{self, Ending, VoiceOptions};

/// How long an agent waits in an empty room for its user before giving up.
pub const USER_WAIT: Duration = Duration::from_secs(120);
/// How long a refused session waits for a user to tell why before it gives up.
const ERROR_AUDIENCE_WAIT: Duration = Duration::from_secs(10);
/// How long the events still queued at the end may take to go out.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// One agent session to run in a room the agent has joined.
pub struct AgentJob {
    pub runtime: PluginRuntime,
    /// The config, when whoever started the job validated it already (the server, for an
    /// in-process agent); otherwise it is read from the room metadata.
    pub config: Option<ValidConfig>,
    /// The config JSON (keys included) from the dispatch's sealed secrets, read instead of the
    /// room metadata; or why they could not be opened.
    pub sealed_config: Option<Result<String, SealError>>,
    pub options: VoiceOptions,
    /// Also receives every event (the worker's metrics).
    pub observer: Option<Arc<dyn EventSink>>,
    pub user_wait: Duration,
    /// The LiveKit project's API key, when whoever runs the job has it: the session may then
    /// transfer a phone caller (`transfer_to_human`).
    pub control: Option<LiveKitCredentials>,
    /// Record the session there (`--record DIR`).
    pub record: Option<RecordSettings>,
}

impl AgentJob {
    pub fn new(runtime: PluginRuntime) -> Self {
        Self {
            runtime,
            config: None,
            sealed_config: None,
            options: VoiceOptions::default(),
            observer: None,
            user_wait: USER_WAIT,
            control: None,
            record: None,
        }
    }
}

/// Runs the session on the user's side a transport handed over: takes the job's config (or
/// reads it from the room `metadata`), waits for a user, talks until the conversation ends,
/// the last user leaves, the room closes or `stop` fires (then the post-call steps still
/// run). A refused config fails at once; it is reported to the user as an `error` event when
/// one is there or comes within a few seconds.
///
/// Leaving is the caller's: it owns the connection.
pub async fn run(
    mut job: AgentJob,
    metadata: &str,
    side: UserSide,
    stop: CancellationToken,
) -> Result<Ending, AgentError> {
    let UserSide { link, mut presence, audio, controls } = side;
    // Before anyone is here, LiveKit UIs still show the agent as starting.
    if let Err(error) = link.set_agent_state(AgentState::Initializing).await {
        tracing::warn!(%error, "could not set the agent state attribute");
    }
    let mut users = BTreeSet::new();
    let parsed = match (job.config.take(), job.sealed_config.take()) {
        (Some(config), _) => Ok(config),
        (None, Some(Ok(sealed))) => parse(&sealed, &job.runtime),
        (None, Some(Err(error))) => Err(error.into()),
        (None, None) => parse(metadata, &job.runtime),
    };
    let config = match parsed {
        Ok(config) => config.into_config(),
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

    if config.record && job.record.is_none() {
        tracing::warn!("the config asks for a recording, but this process does not record (--record DIR)");
    }
    let recording = RecordSettings::for_session(job.record.as_ref(), config.record);
    let (recorder, runtime) =
        match recording.and_then(|r| record::session::start(r, &config, &job.runtime, RecordedMedium::Voice)) {
            Some((recorder, runtime)) => (Some(recorder), runtime),
            None => (None, job.runtime),
        };
    let (publisher, publishing) = RoomPublisher::spawn(link.clone());
    let mut sinks: Vec<Arc<dyn EventSink>> = vec![Arc::new(publisher)];
    sinks.extend(job.observer);
    sinks.extend(recorder.clone().map(|r| Arc::new(r) as Arc<dyn EventSink>));
    let sink: Arc<dyn EventSink> = Arc::new(FanOutSink(sinks));

    let tools = setup::tools(&config, &runtime, Some(&link), sink.as_ref()).await;
    let ctx = Arc::new(FlowContext::new(config, runtime, tools, sink).with_link(link).with_recording(recorder.clone()));
    let hangup = CancellationToken::new();
    let session = voice::run(ctx, job.options, audio, controls, hangup.clone());
    tokio::pin!(session);
    let ending = loop {
        tokio::select! {
            ending = &mut session => break ending,
            _ = stop.cancelled(), if !hangup.is_cancelled() => {
                tracing::info!("agent stopped");
                hangup.cancel();
            }
            change = presence.recv(), if !hangup.is_cancelled() => match change {
                Some(Presence::UserJoined(identity)) => {
                    users.insert(identity);
                }
                Some(Presence::UserLeft(identity)) => {
                    users.remove(&identity);
                    if users.is_empty() {
                        tracing::info!(%identity, "the last user left");
                        hangup.cancel();
                    }
                }
                Some(Presence::Closed(reason)) => {
                    tracing::info!(%reason, "the agent is out of the room");
                    hangup.cancel();
                }
                None => hangup.cancel(),
            },
        }
    };
    if let Some(recorder) = &recorder {
        recorder.finish(&format!("{ending:?}"));
    }
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

fn parse(metadata: &str, runtime: &PluginRuntime) -> Result<ValidConfig, AgentError> {
    if metadata.trim().is_empty() {
        return Err(AgentError::NoMetadata);
    }
    let config =
        ValidConfig::parse(metadata, &RuntimeCatalog(runtime), Medium::Voice).map_err(AgentError::InvalidConfig)?;
    for warning in config.warnings() {
        tracing::info!(%warning, "agent config warning");
    }
    Ok(config)
}
