//! Whole voice sessions in one process: CPU per minute of audio and memory per session with
//! 1, 10 and 100 concurrent sessions, against the provider fakes (run in a child process, so
//! their CPU and memory are not counted).
//!
//! Each session hears 30 s of 48 kHz microphone audio paced in real time, with the LibriVox
//! sentence three times (three user turns): resampling, VAD, Deepgram STT over a WebSocket,
//! end of turn, the OpenAI LLM (SSE), TTS audio resampled to 48 kHz and played out in 20 ms
//! frames. The baseline, same run: the audio core alone (resample + VAD) over the same audio.
//!
//! Each count runs twice: with PCM in and out (the voice loop alone), and with the codec work
//! a LiveKit room adds (the microphone arrives as Opus packets a browser encoded and is decoded
//! frame by frame; the agent's voice is encoded, with a DTX packet every 20 ms between replies).
//!
//! `cargo bench -p voiceblox-host --bench sessions`

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use voiceblox_host::audio::AudioIo;
use voiceblox_host::audio::opus::{OpusDecoder, OpusEncoder, VOICE_BITRATE};
use voiceblox_host::audio::outgoing::OutgoingVoice;
use voiceblox_host::audio::{AudioFrame, EarshotVad, FramePeriod, StreamResampler, Vad, VadConfig};
use voiceblox_host::config::AgentConfig;
use voiceblox_host::egress::{HostPattern, NetworkPolicy};
use voiceblox_host::flow::{FlowContext, Toolbox};
use voiceblox_host::plugin::{
    CompileCache, PluginEngine, PluginRegistry, PluginRuntime, SandboxLimits, Timeouts, default_plugins_dir,
};
use voiceblox_host::voice::{self, VoiceOptions};
use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};
use voiceblox_tests::measure::{cpu_time, rss_mb, spawn_self};

const SESSION_SECONDS: u64 = 30;
const TURN_EVERY_MS: u64 = 10_000;
const SPEECH_TEXT: &str = "He was not an ill disposed young man.";
const FAKES_ARG: &str = "--serve-fakes";

fn main() {
    if std::env::args().any(|a| a == FAKES_ARG) {
        serve_fakes();
        return;
    }
    let mut child = spawn_self(FAKES_ARG);
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("fake URLs");
    let urls: Vec<String> = line.split_whitespace().map(String::from).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(bench(&urls[0], &urls[1]));
    drop(child.stdin.take());
    let _ = child.wait();
}

/// The fakes' process: serve until the parent closes stdin.
fn serve_fakes() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut listen = ListenScript::new().word_ms(300);
        for turn in 0..SESSION_SECONDS * 1000 / TURN_EVERY_MS {
            listen = listen.utterance_at(turn * TURN_EVERY_MS + 800, SPEECH_TEXT);
        }
        let openai = openai::start(OpenAiScript::new().chat(ChatScript::text(["Indeed, ", "he was not."])));
        let deepgram = deepgram::start(DeepgramScript::new().listen(listen.no_inactivity_timeout()));
        println!("{} {}", openai.base_url(), deepgram.base_url());
        std::io::stdout().flush().expect("stdout");
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await
        .expect("stdin");
        drop((openai, deepgram));
    });
}

/// 30 s of 48 kHz audio: the sentence at 0.5 s, 10.5 s, 20.5 s.
fn microphone() -> Vec<AudioFrame> {
    let wav = &include_bytes!("../src/audio/testdata/librivox-sense-0880.wav")[..];
    let reader = hound::WavReader::new(std::io::Cursor::new(wav)).expect("valid WAV");
    let speech: Vec<i16> = reader.into_samples::<i16>().collect::<Result<_, _>>().expect("s16");
    let mut timeline = Vec::new();
    for turn in 0..SESSION_SECONDS * 1000 / TURN_EVERY_MS {
        timeline.resize(((turn * TURN_EVERY_MS + 500) * 16) as usize, 0);
        timeline.extend(&speech);
    }
    timeline.resize((SESSION_SECONDS * 1000 * 16) as usize, 0);
    let mut up = StreamResampler::new(16_000, 48_000, 1).expect("rates");
    let mut audio = up.process(&AudioFrame::new(timeline, 16_000, 1).expect("frame")).expect("up").into_samples();
    audio.extend(up.flush().expect("flush").samples());
    audio.chunks_exact(960).map(|c| AudioFrame::new(c.to_vec(), 48_000, 1).expect("frame")).collect()
}

async fn runtime(openai: &str, deepgram: &str) -> PluginRuntime {
    let engine = PluginEngine::new(SandboxLimits::default()).expect("engine");
    let cache = CompileCache::new(Some(std::env::temp_dir().join("voiceblox-bench-cache")));
    let registry = PluginRegistry::load_dir(&engine, &cache, &default_plugins_dir()).await;
    let policy = NetworkPolicy::default().allow(HostPattern::parse("127.0.0.1").expect("pattern"));
    let (openai, deepgram) = (openai.to_string(), deepgram.to_string());
    PluginRuntime::new(registry, policy, Timeouts::default()).expect("runtime").with_env(Arc::new(
        move |name| match name {
            "OPENAI_API_KEY" => Some("sk-bench".into()),
            "OPENAI_BASE_URL" => Some(openai.clone()),
            "DEEPGRAM_API_KEY" => Some("dg-bench".into()),
            "DEEPGRAM_BASE_URL" => Some(deepgram.clone()),
            _ => None,
        },
    ))
}

async fn bench(openai_url: &str, deepgram_url: &str) {
    let runtime = runtime(openai_url, deepgram_url).await;
    let config = Arc::new(
        AgentConfig::from_json(
            &serde_json::json!({
                "instructions": "You are a literature tutor.",
                "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
                "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
                "stt": {"model": "nova-3", "provider": "deepgram"},
                "steps": [
                    {"id": "s", "type": "start", "command": "Read me a line.", "isLiteral": true, "nextStepIds": {"next": "o"}},
                    {"id": "o", "type": "opentalk", "command": "Discuss the line."}
                ]
            })
            .to_string(),
        )
        .expect("config"),
    );
    let frames = Arc::new(microphone());
    let mut browser = OpusEncoder::voice(VOICE_BITRATE).expect("encoder");
    let packets: Arc<Vec<Vec<u8>>> =
        Arc::new(frames.iter().map(|f| browser.encode(f.samples()).expect("encode").to_vec()).collect());
    let audio_minutes = SESSION_SECONDS as f64 / 60.0;

    // Baseline: the audio core alone over the same audio, unpaced.
    let cpu0 = cpu_time();
    let mut down = StreamResampler::new(48_000, 16_000, 1).expect("rates");
    let mut vad = EarshotVad::new(VadConfig::default()).expect("vad");
    let mut now = Duration::ZERO;
    for frame in frames.iter() {
        let frame = down.process(frame).expect("resample");
        std::hint::black_box(vad.push(&frame, now).expect("vad"));
        now += frame.duration();
    }
    let core_per_minute = (cpu_time() - cpu0) / audio_minutes;

    println!(
        "voice sessions, {SESSION_SECONDS} s of paced 48 kHz speech each (3 user turns), fakes in a child process"
    );
    println!("baseline: audio core alone (resample 48k->16k + VAD) = {:.3} CPU-s per audio-minute", core_per_minute);
    println!(
        "{:>9} {:>6} {:>22} {:>12} {:>16} {:>12} {:>7} {:>10}",
        "sessions", "codec", "CPU-s per audio-minute", "vs core", "RSS per session", "turns done", "errors", "wall"
    );
    for (sessions, opus) in [1usize, 10, 100].into_iter().flat_map(|n| [(n, false), (n, true)]) {
        let rss0 = rss_mb();
        let cpu0 = cpu_time();
        let started = Instant::now();
        let mut tasks = Vec::new();
        let (turns_tx, mut turns_rx) = mpsc::unbounded_channel::<Outcome>();
        let peak = Arc::new(std::sync::Mutex::new(rss0));
        for _ in 0..sessions {
            let sink = Arc::new(TurnCounter(turns_tx.clone()));
            let ctx = Arc::new(FlowContext::new(config.clone(), runtime.clone(), Toolbox::default(), sink));
            let (frames, packets) = (frames.clone(), packets.clone());
            tasks.push(tokio::spawn(async move {
                let (input_tx, input_rx) = mpsc::channel(8);
                let (output_tx, output_rx) = mpsc::channel::<AudioFrame>(64);
                let drain = tokio::spawn(speaker(output_rx, opus));
                let feeder = tokio::spawn(async move {
                    let mut tick = tokio::time::interval(FramePeriod::Ms20.duration());
                    let mut decoder = OpusDecoder::new().expect("decoder");
                    for (frame, packet) in frames.iter().zip(packets.iter()) {
                        tick.tick().await;
                        let frame = if opus {
                            AudioFrame::new(decoder.decode(packet).expect("decode").to_vec(), 48_000, 1).expect("frame")
                        } else {
                            frame.clone()
                        };
                        if input_tx.send(frame).await.is_err() {
                            return;
                        }
                    }
                });
                voice::run(
                    ctx,
                    VoiceOptions::default(),
                    AudioIo { input: input_rx, output: output_tx },
                    mpsc::channel(1).1,
                    Default::default(),
                )
                .await;
                feeder.abort();
                drain.abort();
            }));
        }
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let mut peak = peak.lock().expect("peak");
                    *peak = peak.max(rss_mb());
                }
            })
        };
        for task in tasks {
            task.await.expect("session");
        }
        sampler.abort();
        let cpu = cpu_time() - cpu0;
        let wall = started.elapsed();
        drop(turns_tx.clone());
        let (mut turns, mut errors) = (0, Vec::new());
        while let Ok(outcome) = turns_rx.try_recv() {
            match outcome {
                Outcome::Turn => turns += 1,
                Outcome::Error(message) => errors.push(message),
            }
        }
        let per_minute = cpu / (audio_minutes * sessions as f64);
        let per_session = (*peak.lock().expect("peak") - rss0) / sessions as f64;
        println!(
            "{sessions:>9} {:>6} {per_minute:>22.3} {:>11.1}x {:>13.2} MB {:>12} {:>7} {:>9.1}s",
            if opus { "Opus" } else { "PCM" },
            per_minute / core_per_minute,
            per_session,
            turns,
            errors.len(),
            wall.as_secs_f64()
        );
        if let Some(first) = errors.first() {
            println!("          first error: {first}");
        }
    }
}

/// Where the agent's voice goes: nowhere, or into an Opus stream as a room sends it (each frame
/// encoded as it comes; silence every 20 ms once 40 ms passed without a frame, until DTX).
async fn speaker(mut output: mpsc::Receiver<AudioFrame>, opus: bool) {
    if !opus {
        while output.recv().await.is_some() {}
        return;
    }
    let mut voice = OutgoingVoice::new(0).expect("encoder");
    let mut tick = tokio::time::interval(FramePeriod::Ms20.duration());
    let mut last = Instant::now();
    loop {
        tokio::select! {
            frame = output.recv() => {
                let Some(frame) = frame else { return };
                std::hint::black_box(voice.tick(Instant::now(), Some(frame.samples())).expect("encode"));
                last = Instant::now();
            }
            // Like the room: silent ticks until the encoder pauses in DTX, then none.
            _ = tick.tick(), if !voice.is_paused() => {
                if last.elapsed() >= Duration::from_millis(40) {
                    std::hint::black_box(voice.tick(Instant::now(), None).expect("encode"));
                }
            }
        }
    }
}

/// What a session reports to the bench.
enum Outcome {
    /// A user turn was answered (a metrics event after the greeting).
    Turn,
    /// An `error` event: a provider or plugin stream failed (a plugin deadline or budget
    /// tripped by load would show here).
    Error(String),
}

/// Counts answered user turns and errors, to show the sessions worked.
struct TurnCounter(mpsc::UnboundedSender<Outcome>);

impl voiceblox_host::events::EventSink for TurnCounter {
    fn emit(&self, event: voiceblox_host::events::AgentEvent) {
        match event {
            voiceblox_host::events::AgentEvent::Metrics(m) if m.turn > 1 => {
                let _ = self.0.send(Outcome::Turn);
            }
            voiceblox_host::events::AgentEvent::Error { message, .. } => {
                let _ = self.0.send(Outcome::Error(message));
            }
            _ => {}
        }
    }
}
