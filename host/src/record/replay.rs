//! Running a recorded session again, on virtual time, against its recorded traffic: the same
//! config, the same user input at the same moments, every request answered as it was. Call
//! it on a runtime whose clock is paused ([`on_virtual_time`]): a call of minutes replays in
//! milliseconds and the same recording always gives the same events.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::compare::{Divergence, first_divergence, without_timings};
use super::format::{Entry, RecordedMedium};
use super::reader::Recording;
use super::traffic::ReplayTraffic;
use crate::agent::{self, AgentJob, text};
use crate::audio::{AudioFrame, AudioIo, VAD_SAMPLE_RATE};
use crate::config::{Medium, ValidConfig};
use crate::egress::{HostPattern, NetworkPolicy, Tap};
use crate::events::{AgentState, CollectSink, EventSink};
use crate::flow::{Conversation, FlowContext, setup};
use crate::plugin::{PluginRuntime, StreamError};
use crate::providers::RuntimeCatalog;
use crate::transport::{LinkError, Presence, UserLink, UserSide};

/// What stands in for every key in a replay: nothing is sent, so no real key is needed.
pub const REPLAY_KEY: &str = "replay-key";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("the recording reached its size limit ({0} bytes) and stops short; it cannot be replayed to its end")]
    Truncated(u64),
    #[error("the recorded config is refused by this host: {0}")]
    Config(String),
    #[error("the recorded network policy: {0}")]
    Policy(String),
    #[error(transparent)]
    Runtime(#[from] StreamError),
    #[error("the replayed session failed: {0}")]
    Session(String),
}

/// A replay's outcome.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The events the session published when it was recorded.
    pub recorded: Vec<Value>,
    /// The events the replay published.
    pub replayed: Vec<Value>,
    /// How the plugins differ from the recorded ones (empty: the same builds).
    pub plugin_changes: Vec<String>,
    /// Requests the replay made that the recording has no answer for.
    pub unmatched: Vec<String>,
    /// Recorded requests the replay never made.
    pub unused: Vec<String>,
    /// Every HTTP request the replay made: URL and body.
    pub requests: Vec<(String, Vec<u8>)>,
    /// The replayed session's length on virtual time.
    pub duration: std::time::Duration,
}

impl Replayed {
    /// Where the replay's events first differ from the recording's (measured timings aside).
    pub fn divergence(&self) -> Option<Divergence> {
        first_divergence(&self.recorded, &self.replayed, without_timings)
    }
}

/// Runs `future` on a fresh single-threaded runtime whose clock is paused: time advances only
/// when every task waits, straight to the next timer.
pub fn on_virtual_time<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?;
    Ok(runtime.block_on(future))
}

/// Replays `recording` with the plugins of `runtime` (its network policy and environment are
/// replaced by the recording's). Must run on a paused clock.
pub async fn replay(recording: &Recording, runtime: &PluginRuntime) -> Result<Replayed, ReplayError> {
    if let Some(Entry::Truncated { limit_bytes }) =
        recording.lines.iter().map(|l| &l.entry).find(|e| matches!(e, Entry::Truncated { .. }))
    {
        return Err(ReplayError::Truncated(*limit_bytes));
    }
    let traffic = Arc::new(ReplayTraffic::new(&recording.lines));
    let header = &recording.header;
    let runtime =
        hermetic(runtime, &header.allowed_hosts, header.base_url_env.clone())?.with_tap(Tap::Replay(traffic.clone()));
    let medium = match header.medium {
        RecordedMedium::Text => Medium::Text,
        RecordedMedium::Voice => Medium::Voice,
    };
    let mut config = header.config.clone();
    stand_in_credentials(&mut config);
    let valid = ValidConfig::parse(&config.to_string(), &RuntimeCatalog(&runtime), medium).map_err(|error| {
        ReplayError::Config(error.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    let events = CollectSink::default();
    let started = tokio::time::Instant::now();
    match header.medium {
        RecordedMedium::Text => replay_text(recording, valid, runtime.clone(), events.clone()).await?,
        RecordedMedium::Voice => replay_voice(recording, valid, runtime.clone(), events.clone()).await?,
    }
    let replayed = events.events().iter().filter_map(|event| serde_json::to_value(event).ok()).collect();
    Ok(Replayed {
        recorded: recording.events(),
        replayed,
        plugin_changes: plugin_changes(recording, &runtime),
        unmatched: traffic.unmatched(),
        unused: traffic.unused(),
        requests: traffic.requests(),
        duration: started.elapsed(),
    })
}

/// The MCP credentials the recording left out, as stand-ins: the requests were recorded with
/// the credential as a placeholder, so any value replays them.
fn stand_in_credentials(config: &mut serde_json::Value) {
    let Some(servers) = config.get_mut("mcpServers").and_then(|s| s.as_array_mut()) else { return };
    for server in servers.iter_mut().filter_map(|s| s.as_object_mut()) {
        let needs_one = server.get("authType").and_then(|t| t.as_str()).is_some_and(|t| t != "none");
        if needs_one && !server.contains_key("authValue") {
            server.insert("authValue".into(), REPLAY_KEY.into());
        }
    }
}

/// `runtime`'s plugins sealed off: `allowed_hosts` beyond the built-in ones, a stand-in for
/// every key, the given base URLs, nothing from this process's environment. Give it a
/// [`Tap::Replay`] before use: nothing may leave.
pub fn hermetic(
    runtime: &PluginRuntime,
    allowed_hosts: &[String],
    base_urls: Vec<(String, String)>,
) -> Result<PluginRuntime, ReplayError> {
    let mut policy = NetworkPolicy::default();
    for host in allowed_hosts {
        policy = policy.allow(HostPattern::parse(host).map_err(|e| ReplayError::Policy(e.to_string()))?);
    }
    let key_vars: BTreeSet<String> = runtime
        .registry()
        .plugins()
        .iter()
        .flat_map(|plugin| plugin.info().providers.iter().map(|p| runtime.key_vars(&p.id)))
        .flatten()
        .collect();
    let env = Arc::new(move |name: &str| {
        if let Some((_, value)) = base_urls.iter().find(|(var, _)| var == name) {
            return Some(value.clone());
        }
        (key_vars.contains(name) || name.ends_with("_API_KEY")).then(|| REPLAY_KEY.to_string())
    });
    Ok(runtime.with_network_policy(policy)?.with_env(env))
}

/// A text session's context: `valid` on `runtime`, its tools set up, events to `sink`.
pub async fn text_context(valid: ValidConfig, runtime: PluginRuntime, sink: Arc<dyn EventSink>) -> Arc<FlowContext> {
    let config = valid.into_config();
    let tools = setup::tools(&config, &runtime, None, sink.as_ref()).await;
    Arc::new(FlowContext::new(config, runtime, tools, sink))
}

/// A text session, the user's lines from `input` until it ends; then the post-call steps.
pub async fn run_text<R: tokio::io::AsyncBufRead + Unpin>(ctx: Arc<FlowContext>, input: R) -> std::io::Result<()> {
    text::run(Conversation::new(ctx), input, &mut std::io::sink(), false).await
}

fn plugin_changes(recording: &Recording, runtime: &PluginRuntime) -> Vec<String> {
    let loaded = runtime.registry().plugins();
    recording
        .header
        .plugins
        .iter()
        .filter_map(|recorded| match loaded.iter().find(|p| p.name() == recorded.name) {
            None => Some(format!("{}: recorded with {}, not loaded now", recorded.name, recorded.version)),
            Some(plugin) if plugin.sha256() != recorded.sha256 => Some(format!(
                "{}: recorded with {} ({}), replayed with {} ({})",
                recorded.name,
                recorded.version,
                &recorded.sha256[..recorded.sha256.len().min(12)],
                plugin.info().version,
                &plugin.sha256()[..plugin.sha256().len().min(12)],
            )),
            Some(_) => None,
        })
        .collect()
}

fn at(line_at_us: u64, start: tokio::time::Instant) -> tokio::time::Instant {
    start + std::time::Duration::from_micros(line_at_us)
}

async fn replay_text(
    recording: &Recording,
    valid: ValidConfig,
    runtime: PluginRuntime,
    events: CollectSink,
) -> Result<(), ReplayError> {
    let (reader, mut writer) = tokio::io::duplex(1 << 16);
    let start = tokio::time::Instant::now();
    let input: Vec<(u64, Option<String>)> = recording
        .lines
        .iter()
        .filter_map(|line| match &line.entry {
            Entry::UserText { text } => Some((line.at_us, Some(text.clone()))),
            Entry::UserTextEnd | Entry::End { .. } => Some((line.at_us, None)),
            _ => None,
        })
        .collect();
    let typist = tokio::spawn(async move {
        for (at_us, text) in input {
            tokio::time::sleep_until(at(at_us, start)).await;
            let Some(text) = text else { return };
            if writer.write_all(format!("{text}\n").as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let ctx = text_context(valid, runtime, Arc::new(events)).await;
    let result = run_text(ctx, tokio::io::BufReader::new(reader)).await;
    typist.abort();
    result.map_err(|e| ReplayError::Session(e.to_string()))
}

async fn replay_voice(
    recording: &Recording,
    valid: ValidConfig,
    runtime: PluginRuntime,
    events: CollectSink,
) -> Result<(), ReplayError> {
    let (audio, ends) = AudioIo::pair();
    let (presence_tx, presence) = mpsc::channel(1);
    // Room for one message in a fresh channel: this cannot fail.
    let _ = presence_tx.try_send(Presence::UserJoined("replay".into()));
    let side = UserSide { link: Arc::new(ReplayLink), presence, audio, controls: mpsc::channel(1).1 };
    let start = tokio::time::Instant::now();
    let mic: Vec<(u64, Option<Vec<u8>>)> = recording
        .lines
        .iter()
        .filter_map(|line| match &line.entry {
            Entry::Mic { pcm } => Some((line.at_us, Some(pcm.bytes().unwrap_or_default()))),
            Entry::MicEnd => Some((line.at_us, None)),
            _ => None,
        })
        .collect();
    let microphone = ends.microphone;
    let user = tokio::spawn(async move {
        for (at_us, pcm) in mic {
            tokio::time::sleep_until(at(at_us, start)).await;
            // The end of the microphone: the user hung up here.
            let Some(pcm) = pcm else { return };
            let Ok(frame) = AudioFrame::from_le_bytes(&pcm, VAD_SAMPLE_RATE, 1) else { continue };
            if microphone.send(frame).await.is_err() {
                return;
            }
        }
        // The recording ends with the user still there: they stay until the session ends.
        std::future::pending::<()>().await;
        drop(microphone);
    });
    let mut speaker = ends.speaker;
    let listener = tokio::spawn(async move { while speaker.recv().await.is_some() {} });
    let job = AgentJob { config: Some(valid), observer: Some(Arc::new(events)), ..AgentJob::new(runtime) };
    let result = agent::run(job, "", side, CancellationToken::new()).await;
    user.abort();
    listener.abort();
    drop(presence_tx);
    result.map(|_| ()).map_err(|e| ReplayError::Session(e.to_string()))
}

/// A replay's user side: events are collected by the job's observer, nothing else goes out.
struct ReplayLink;

impl UserLink for ReplayLink {
    fn publish_event(&self, _json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn set_agent_state(&self, _state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
