//! Running one flow test: the session on virtual time, its providers answered from the
//! script, the user typing the scripted turns whenever the agent listens (or, in a voice
//! test, speaking them: [`super::voice`]).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::script::{Script, Seen};
use super::spec::TestSpec;
use super::tools::ScriptedTools;
use super::voice::{self, VoiceError};
use crate::audio::{AudioFrame, AudioIo, FramePeriod};
use crate::config::{Medium, ValidConfig};
use crate::egress::Tap;
use crate::events::{AgentEvent, AgentState, CollectSink, EventSink, FanOutSink};
use crate::flow::{FlowContext, setup};
use crate::plugin::PluginRuntime;
use crate::providers::RuntimeCatalog;
use crate::record::replay::{ReplayError, hermetic, run_text};
use crate::voice::VoiceOptions;

/// The longest a test's session may run on virtual time.
pub const LONGEST: Duration = Duration::from_secs(4 * 3600);
/// The longest a voice test's session may run: its microphone sends a frame every 20 ms of
/// virtual time, which costs real CPU.
pub const LONGEST_VOICE: Duration = Duration::from_secs(30 * 60);

/// What a test's session did.
#[derive(Debug, Clone)]
pub struct Session {
    pub events: Vec<Value>,
    pub seen: Seen,
    /// Its length on virtual time.
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("the config is refused: {0}")]
    Config(String),
    #[error(transparent)]
    Setup(#[from] ReplayError),
    #[error("the session failed: {0}")]
    Session(std::io::Error),
    #[error("the user's audio: {0}")]
    Audio(#[from] VoiceError),
    /// Something waited for what never came (a turn the agent never answered).
    #[error("the session had not ended after {} of virtual time", humantime::format_duration(*.0))]
    NeverEnded(Duration),
}

/// Runs `test` on `config` with `runtime`'s plugins; a voice test's WAVs are relative to
/// `base`. Must run on a paused clock.
pub async fn run(test: &TestSpec, config: &str, runtime: &PluginRuntime, base: &Path) -> Result<Session, RunError> {
    let script = Arc::new(Script::new(test.llm.clone(), test.webhooks.clone()));
    let runtime = hermetic(runtime, &[], Vec::new())?.with_tap(Tap::Replay(script.clone()));
    let medium = if test.is_voice() { Medium::Voice } else { Medium::Text };
    let valid = ValidConfig::parse(config, &RuntimeCatalog(&runtime), medium).map_err(|error| {
        RunError::Config(error.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    let spoken = if test.is_voice() { Some(voice::load(&test.turns, base)?) } else { None };
    let events = CollectSink::default();
    let (listening_tx, listening) = watch::channel(Listens::default());
    let sink: Arc<dyn EventSink> =
        Arc::new(FanOutSink(vec![Arc::new(events.clone()), Arc::new(Listening(listening_tx))]));
    let start = tokio::time::Instant::now();
    // The config's MCP servers are stood in for by the scripted tools.
    let mut config = (*valid.into_config()).clone();
    config.mcp_servers.clear();
    let config = Arc::new(config);
    let mut tools = setup::tools(&config, &runtime, None, sink.as_ref()).await;
    let unscripted_tools = Arc::new(Mutex::new(Vec::new()));
    if !test.tools.is_empty() {
        tools.add(Arc::new(ScriptedTools::new(&test.tools, unscripted_tools.clone())));
    }
    let ctx = Arc::new(FlowContext::new(config, runtime, tools, sink));
    match spoken {
        None => {
            let (reader, writer) = tokio::io::duplex(1 << 16);
            let user = tokio::spawn(type_turns(test.turns.clone(), writer, listening));
            let session = run_text(ctx, tokio::io::BufReader::new(reader));
            let result = tokio::time::timeout(LONGEST, session).await;
            user.abort();
            match result {
                Err(_) => return Err(RunError::NeverEnded(LONGEST)),
                Ok(result) => result.map_err(RunError::Session)?,
            }
        }
        Some((turns, rate, channels)) => {
            let silence = AudioFrame::silence(rate, channels, FramePeriod::Ms20)
                .map_err(|e| RunError::Session(std::io::Error::other(e.to_string())))?;
            let (io, ends) = AudioIo::pair();
            let user = tokio::spawn(voice::talk(turns, silence, ends.microphone, listening, script.heard()));
            let mut speaker = ends.speaker;
            let listener = tokio::spawn(async move { while speaker.recv().await.is_some() {} });
            // No turn controls: the sender is dropped at once.
            let controls = mpsc::channel(1).1;
            let session = crate::voice::run(ctx, VoiceOptions::default(), io, controls, CancellationToken::new());
            let result = tokio::time::timeout(LONGEST_VOICE, session).await;
            user.abort();
            listener.abort();
            if result.is_err() {
                return Err(RunError::NeverEnded(LONGEST_VOICE));
            }
        }
    }
    let mut seen = script.seen();
    seen.unscripted.extend(unscripted_tools.lock().unwrap_or_else(PoisonError::into_inner).drain(..));
    Ok(Session {
        events: events.events().iter().filter_map(|e| serde_json::to_value(e).ok()).collect(),
        seen,
        duration: start.elapsed(),
    })
}

/// Whether the agent listens now, and how many times it started to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listens {
    pub now: bool,
    pub times: u64,
}

/// Tells the user when the agent is listening.
struct Listening(watch::Sender<Listens>);

impl EventSink for Listening {
    fn emit(&self, event: AgentEvent) {
        if let AgentEvent::AgentState { state } = event {
            self.0.send_modify(|listens| {
                let now = state == AgentState::Listening;
                listens.times += u64::from(now && !listens.now);
                listens.now = now;
            });
        }
    }
}

/// The user: each turn once the agent listens (after its wait), then hangs up once the agent
/// listens after the last.
async fn type_turns(
    turns: Vec<super::spec::Turn>,
    mut input: tokio::io::DuplexStream,
    mut listening: watch::Receiver<Listens>,
) {
    // The agent's listening spells the user has answered; after a line, the user waits for the
    // next one (the answer), after a wait only for the agent to be listening.
    let mut answered = 0;
    let mut said = false;
    for turn in turns {
        let Ok(listens) = listening.wait_for(|l| l.now && (!said || l.times > answered)).await.map(|l| *l) else {
            return;
        };
        answered = listens.times;
        if let Some(wait) = turn.wait {
            tokio::time::sleep(wait).await;
            // A timer may have made the agent speak meanwhile: the user lets it finish.
            let Ok(listens) = listening.wait_for(|l| l.now).await.map(|l| *l) else { return };
            answered = listens.times;
        }
        said = false;
        if let Some(text) = turn.user {
            if input.write_all(format!("{}\n", text.replace('\n', " ")).as_bytes()).await.is_err() {
                return;
            }
            said = true;
        }
    }
    let _ = listening.wait_for(|l| l.now && (!said || l.times > answered)).await;
    // Dropping the input hangs up.
}
