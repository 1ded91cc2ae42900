//! Record and replay, measured: a voice session recorded live against the provider fakes (the
//! LibriVox sentence said three times, answered each time), then replayed offline on virtual
//! time a hundred times with the same plugins. Prints the recording's size per minute of call,
//! the replay speed (minutes of call per CPU-second) against the live session's own CPU in the
//! same run, and whether every replay gave the same events to the byte (timings included).
//!
//! Run: `cargo bench -p voiceblox-tests --bench replay`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use voiceblox_host::agent::{self, AgentJob};
use voiceblox_host::audio::{AudioFrame, FramePeriod};
use voiceblox_host::config::{Medium, ValidConfig};
use voiceblox_host::plugin::PluginOptions;
use voiceblox_host::providers::RuntimeCatalog;
use voiceblox_host::record::format::Entry;
use voiceblox_host::record::replay::{on_virtual_time, replay};
use voiceblox_host::record::{RecordSettings, Recording};
use voiceblox_host::transport::console::wav::WavCall;
use voiceblox_host::voice::VoiceOptions;
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox};
use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};
use voiceblox_tests::measure::cpu_time;

const SAYINGS: usize = 3;
const PERIOD_MS: usize = 7000;
const REPLAYS: usize = 100;

fn options() -> PluginOptions {
    PluginOptions {
        plugins: None,
        allow_hosts: vec!["127.0.0.1".into()],
        policy: None,
        no_default_hosts: false,
        cache_dir: Some(std::env::temp_dir().join("voiceblox-test-cache")),
        no_cache: false,
        plugin_memory_mb: 64,
        plugin_call_ms: 100,
        plugin_cpu_budget_ms: 2000,
        plugin_idle_s: 60,
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let live = tokio::runtime::Runtime::new().expect("a runtime");
    let (recording_path, live_cpu) = live.block_on(record(dir.path()));
    let size = std::fs::metadata(&recording_path).map(|m| m.len()).unwrap_or(0);
    let recording = Recording::read(&recording_path).expect("reading the recording");
    let heard: usize = recording
        .lines
        .iter()
        .filter_map(|line| match &line.entry {
            Entry::Mic { pcm } => Some(pcm.bytes().map_or(0, |b| b.len() / 2)),
            _ => None,
        })
        .sum();
    let minutes = heard as f64 / 16_000.0 / 60.0;
    let (cpu, identical, events) = on_virtual_time(async {
        let runtime = options().runtime().await.expect("the plugins");
        let mut first: Option<Vec<serde_json::Value>> = None;
        let (mut identical, mut events) = (0, 0);
        let started = cpu_time();
        for _ in 0..REPLAYS {
            let replayed = replay(&recording, &runtime).await.expect("a replay");
            assert!(replayed.divergence().is_none(), "{:?}", replayed.divergence());
            events = replayed.replayed.len();
            match &first {
                None => first = Some(replayed.replayed),
                Some(first) => identical += usize::from(*first == replayed.replayed),
            }
        }
        (cpu_time() - started, identical + 1, events)
    })
    .expect("a paused runtime");
    let per_replay = cpu / REPLAYS as f64;
    println!("record and replay: a {:.1} s voice session ({SAYINGS} user turns), {REPLAYS} replays", minutes * 60.0);
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| recording size | {:.0} kB ({:.2} MB per minute of call) |",
        size as f64 / 1e3,
        size as f64 / 1e6 / minutes
    );
    println!("| live session CPU (baseline) | {:.0} ms |", live_cpu * 1e3);
    println!("| one replay's CPU | {:.0} ms ({:.2}x the live session's) |", per_replay * 1e3, per_replay / live_cpu);
    println!("| replay speed | {:.1} minutes of call per CPU-second |", minutes / per_replay);
    println!(
        "| replays identical to the byte (events with timings) | {identical} of {REPLAYS} ({events} events each) |"
    );
}

/// Runs the session live against the fakes, recording it; returns the recording and the CPU
/// the process spent meanwhile.
async fn record(dir: &std::path::Path) -> (std::path::PathBuf, f64) {
    let mut chat = OpenAiScript::new().api_key("sk-bench");
    let mut listen = ListenScript::new().word_ms(300);
    let mut samples = Vec::new();
    let speech = librivox();
    for saying in 0..SAYINGS {
        chat = chat.chat(ChatScript::text(["Indeed, ", "he was not."]));
        let at_ms = 1000 + saying * PERIOD_MS;
        samples.resize(16 * at_ms, 0);
        samples.extend(&speech);
        listen = listen.utterance_at(at_ms as u64 + 300, LIBRIVOX_TEXT);
    }
    samples.resize(16 * (1000 + SAYINGS * PERIOD_MS), 0);
    let openai = openai::start(chat);
    let deepgram = deepgram::start(DeepgramScript::new().api_key("dg-bench").listen(listen));
    let vars = [
        ("OPENAI_API_KEY", "sk-bench".to_string()),
        ("OPENAI_BASE_URL", openai.base_url()),
        ("DEEPGRAM_API_KEY", "dg-bench".to_string()),
        ("DEEPGRAM_BASE_URL", deepgram.base_url()),
    ];
    let runtime = options().runtime().await.expect("the plugins").with_env(Arc::new(move |name: &str| {
        vars.iter().find(|(var, _)| *var == name).map(|(_, value)| value.clone())
    }));
    let config = serde_json::json!({
        "agentName": "Replay bench",
        "instructions": "You discuss books.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "steps": [
            {"id": "s", "type": "start", "command": "Go ahead.", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Discuss the book."}
        ]
    });
    let valid =
        ValidConfig::parse(&config.to_string(), &RuntimeCatalog(&runtime), Medium::Voice).expect("a valid config");
    let frames = AudioFrame::new(samples, 16_000, 1).and_then(|f| f.chunks(FramePeriod::Ms20)).expect("frames");
    let voice = VoiceOptions::default();
    let (side, call) = WavCall::start(frames, voice.output_rate, Box::new(std::io::sink()));
    let settings = RecordSettings::new(dir);
    let job = AgentJob { config: Some(valid), options: voice, record: Some(settings), ..AgentJob::new(runtime) };
    let started = cpu_time();
    agent::run(job, "", side, CancellationToken::new()).await.expect("the live session");
    let cpu = cpu_time() - started;
    call.finish(&dir.join("agent.wav")).await.expect("the agent's audio");
    let name = std::fs::read_dir(dir)
        .expect("the recordings")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".rec.jsonl"))
        .expect("a recording");
    drop((openai, deepgram));
    (name, cpu)
}
