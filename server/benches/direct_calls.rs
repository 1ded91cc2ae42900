//! Many direct calls in one server process: CPU per audio-minute per call and memory per call
//! with the whole transport (str0m ICE/DTLS/SRTP over loopback UDP, Opus both ways, the data
//! channel) around each voice session, at 1, 10, 50 and 100 concurrent calls.
//!
//! The browsers (str0m peers that send the LibriVox sentence three times in 30 s as Opus,
//! paced in real time, and decode what they hear) and the provider fakes (Deepgram streaming STT, the
//! OpenAI LLM and TTS) run in a child process, so only the server's work is counted. Baseline,
//! same run: the audio core alone (resample + VAD) over the same audio.
//!
//! `cargo bench -p voiceblox-server --bench direct_calls`

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voiceblox_host::audio::opus::{OpusEncoder, VOICE_BITRATE};
use voiceblox_host::audio::{AudioFrame, EarshotVad, StreamResampler, Vad, VadConfig};
use voiceblox_server::settings::DirectOptions;
use voiceblox_tests::audio::librivox_48k;
use voiceblox_tests::direct_user::DirectUser;
use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};
use voiceblox_tests::measure::{cpu_time, rss_mb, spawn_self};

const SESSION_SECONDS: u64 = 30;
const TURN_EVERY_MS: u64 = 10_000;
const SPEECH_TEXT: &str = "He was not an ill disposed young man.";
const CHILD_ARG: &str = "--browsers";
const COUNTS: [usize; 4] = [1, 10, 50, 100];

fn main() {
    if std::env::args().any(|a| a == CHILD_ARG) {
        browsers();
        return;
    }
    let mut child = spawn_self(CHILD_ARG);
    let mut to_child = child.stdin.take().expect("stdin");
    let mut from_child = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    from_child.read_line(&mut line).expect("fake URLs");
    let urls: Vec<String> = line.split_whitespace().map(String::from).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(bench(&urls[0], &urls[1], &mut to_child, &mut from_child));
    drop(to_child);
    let _ = child.wait();
}

/// The 30 s each browser says: the sentence at 0.5 s, 10.5 s and 20.5 s, silence between.
fn timeline() -> Vec<i16> {
    let speech = librivox_48k();
    let mut audio = Vec::new();
    for turn in 0..SESSION_SECONDS * 1000 / TURN_EVERY_MS {
        audio.resize(((turn * TURN_EVERY_MS + 500) * 48) as usize, 0);
        audio.extend(&speech);
    }
    audio.resize((SESSION_SECONDS * 1000 * 48) as usize, 0);
    audio
}

fn config() -> Value {
    json!({
        "instructions": "You are a literature tutor.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "steps": [
            {"id": "s", "type": "start", "command": "Read me a line.", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Discuss the line."}
        ]
    })
}

async fn bench(
    openai_url: &str,
    deepgram_url: &str,
    to_child: &mut std::process::ChildStdin,
    from_child: &mut std::io::BufReader<std::process::ChildStdout>,
) {
    let env = [
        ("OPENAI_API_KEY", "sk-bench".to_string()),
        ("OPENAI_BASE_URL", openai_url.to_string()),
        ("DEEPGRAM_API_KEY", "dg-bench".to_string()),
        ("DEEPGRAM_BASE_URL", deepgram_url.to_string()),
    ];
    let direct = DirectOptions { max_sessions: 1000, ..DirectOptions::default() };
    let server = common::Server::start_direct(&env, direct).await;
    let audio_minutes = SESSION_SECONDS as f64 / 60.0;

    // Baseline: the audio core alone over the same audio, unpaced.
    let audio = timeline();
    let cpu0 = cpu_time();
    let mut down = StreamResampler::new(48_000, 16_000, 1).expect("rates");
    let mut vad = EarshotVad::new(VadConfig::default()).expect("vad");
    let mut now = Duration::ZERO;
    for chunk in audio.chunks_exact(960) {
        let frame = down.process(&AudioFrame::new(chunk.to_vec(), 48_000, 1).expect("frame")).expect("resample");
        std::hint::black_box(vad.push(&frame, now).expect("vad"));
        now += frame.duration();
    }
    let core = (cpu_time() - cpu0) / audio_minutes;

    println!(
        "direct calls, {SESSION_SECONDS} s of paced speech each (3 user turns); browsers and fakes in a child process"
    );
    println!("baseline: audio core alone (resample 48k->16k + VAD) = {core:.3} CPU-s per audio-minute");
    println!(
        "| concurrent calls | CPU-s per audio-minute per call | vs audio core | server CPU (cores) | RSS per call | turns answered | calls failed |"
    );
    println!("|---|---|---|---|---|---|---|");
    for calls in COUNTS {
        let rss0 = rss_mb();
        let cpu0 = cpu_time();
        let started = Instant::now();
        writeln!(to_child, "{} {calls}", server.base()).expect("to the browsers");
        to_child.flush().expect("flush");
        let peak = std::sync::Arc::new(std::sync::Mutex::new(rss0));
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let mut peak = peak.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    *peak = peak.max(rss_mb());
                }
            })
        };
        let mut line = String::new();
        let read = tokio::task::block_in_place(|| from_child.read_line(&mut line));
        read.expect("the browsers' report");
        let cpu = cpu_time() - cpu0;
        let wall = started.elapsed().as_secs_f64();
        sampler.abort();
        let peak_rss = *peak.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let report: Vec<usize> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        let (turns, failed) = (report.first().copied().unwrap_or(0), report.get(1).copied().unwrap_or(calls));
        let per_minute = cpu / (audio_minutes * calls as f64);
        println!(
            "| {calls} | {per_minute:.3} | {:.1}x | {:.2} | {:.2} MB | {turns} of {} | {failed} |",
            per_minute / core,
            cpu / wall,
            (peak_rss - rss0) / calls as f64,
            calls * 3,
        );
        // Let the calls' post-call work finish before the next count.
        while server.direct.sessions.count() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The child: the fakes, then one batch of browsers per line read (`BASE_URL COUNT`), each
/// batch answered with `TURNS FAILED`.
fn browsers() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut listen = ListenScript::new().word_ms(300);
        for turn in 0..SESSION_SECONDS * 1000 / TURN_EVERY_MS {
            listen = listen.utterance_at(turn * TURN_EVERY_MS + 800, SPEECH_TEXT);
        }
        let openai = openai::start(OpenAiScript::new().chat(ChatScript::text(["Indeed, ", "he was not."])));
        let deepgram = deepgram::start(DeepgramScript::new().listen(listen.no_inactivity_timeout()));
        println!("{} {}", openai.base_url(), deepgram.base_url());
        std::io::stdout().flush().expect("stdout");
        // Encoded once, as each browser would: 100 browsers encoding would cost the machine
        // more than the server they test.
        let mut encoder = OpusEncoder::voice(VOICE_BITRATE).expect("encoder");
        let packets: Arc<Vec<Arc<[u8]>>> =
            Arc::new(timeline().chunks_exact(960).map(|f| Arc::from(encoder.encode(f).expect("encode"))).collect());
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
        while let Ok(Some(line)) = lines.next_line().await {
            let mut parts = line.split_whitespace();
            let (Some(base), Some(count)) = (parts.next(), parts.next().and_then(|c| c.parse::<usize>().ok())) else {
                continue;
            };
            let calls = (0..count).map(|_| call(base.to_string(), packets.clone()));
            let outcomes = futures_util::future::join_all(calls).await;
            let turns: usize = outcomes.iter().filter_map(|o| *o).sum();
            let failed = outcomes.iter().filter(|o| o.is_none()).count();
            println!("{turns} {failed}");
            std::io::stdout().flush().expect("stdout");
        }
        drop((openai, deepgram));
    });
}

/// One browser's call: says the timeline, then hangs up. The user turns answered, or `None`
/// when the call could not start.
async fn call(base: String, packets: Arc<Vec<Arc<[u8]>>>) -> Option<usize> {
    let mut user = DirectUser::start(&base, json!({"config": config()})).await.ok()?;
    user.speak_packets(packets);
    tokio::time::sleep(Duration::from_secs(SESSION_SECONDS) + Duration::from_millis(500)).await;
    let turns = user.events().iter().filter(|e| e["type"] == "metrics" && e["turn"].as_u64() > Some(1)).count();
    let _ = voiceblox_tests::http_client()
        .delete(format!("{base}/api/direct-session"))
        .json(&json!({"sessionId": user.session_id}))
        .send()
        .await;
    Some(turns)
}
