//! Running one flow test: the session on virtual time, its providers answered from the
//! script, the user typing the scripted turns whenever the agent listens.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::watch;

use super::script::{Script, Seen};
use super::spec::TestSpec;
use super::tools::ScriptedTools;
use crate::config::{Medium, ValidConfig};
use crate::egress::Tap;
use crate::events::{AgentEvent, AgentState, CollectSink, EventSink, FanOutSink};
use crate::flow::{FlowContext, setup};
use crate::plugin::PluginRuntime;
use crate::providers::RuntimeCatalog;
use crate::record::replay::{ReplayError, hermetic, run_text};

/// The longest a test's session may run on virtual time.
pub const LONGEST: Duration = Duration::from_secs(4 * 3600);

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
    /// Something waited for what never came (a turn the agent never answered).
    #[error("the session had not ended after {} of virtual time", humantime::format_duration(*.0))]
    NeverEnded(Duration),
}

/// Runs `test` on `config` with `runtime`'s plugins. Must run on a paused clock.
pub async fn run(test: &TestSpec, config: &str, runtime: &PluginRuntime) -> Result<Session, RunError> {
    let script = Arc::new(Script::new(test.llm.clone(), test.webhooks.clone()));
    let runtime = hermetic(runtime, &[], Vec::new())?.with_tap(Tap::Replay(script.clone()));
    let valid = ValidConfig::parse(config, &RuntimeCatalog(&runtime), Medium::Text).map_err(|error| {
        RunError::Config(error.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    let events = CollectSink::default();
    let (listening_tx, listening) = watch::channel(Listens::default());
    let sink: Arc<dyn EventSink> =
        Arc::new(FanOutSink(vec![Arc::new(events.clone()), Arc::new(Listening(listening_tx))]));
    let (reader, writer) = tokio::io::duplex(1 << 16);
    let start = tokio::time::Instant::now();
    let user = tokio::spawn(type_turns(test.turns.clone(), writer, listening));
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
    let session = run_text(ctx, tokio::io::BufReader::new(reader));
    let result = tokio::time::timeout(LONGEST, session).await;
    user.abort();
    match result {
        Err(_) => return Err(RunError::NeverEnded(LONGEST)),
        Ok(result) => result.map_err(RunError::Session)?,
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
struct Listens {
    now: bool,
    times: u64,
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
