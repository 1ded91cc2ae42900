//! What a caller waits for, through a direct WebRTC call (Opus both ways, str0m at both ends
//! over loopback UDP, the server's HTTP in front), against the same agent with PCM handed
//! straight to the voice loop (no transport, no codec), in the same run:
//!
//! - **join → first agent audio**: from the request that starts the session to the first
//!   voiced 20 ms of the greeting at the user;
//! - **interruption → silence**: from the first frame of the user's speech, sent while the
//!   agent talks, to the last voiced frame before the agent falls silent (the voice loop needs
//!   0.5 s of speech to call it an interruption; that part is the same on both paths).
//!
//! Providers are the OpenAI fake on loopback (an LLM that answers at once, a TTS that streams a
//! tone), so the figures are the host's and the transport's own.
//!
//! `cargo bench -p voiceblox-server --bench call_latency`

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::json;
use tokio::sync::mpsc;
use voiceblox_host::agent::{self, AgentJob};
use voiceblox_host::audio::AudioIo;
use voiceblox_host::config::{Medium, ValidConfig};
use voiceblox_host::events::AgentState;
use voiceblox_host::providers::RuntimeCatalog;
use voiceblox_host::transport::{LinkError, Presence, UserLink, UserSide};
use voiceblox_server::settings::DirectOptions;
use voiceblox_tests::audio::{librivox_48k, rms};
use voiceblox_tests::direct_user::DirectUser;
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiFake, OpenAiScript, TranscriptionScript};
use voiceblox_tests::room_user::speak_into;

const ROUNDS: usize = 15;
const KEY: &str = "sk-bench";
/// Long enough (40 ms of tone per character) that the user interrupts it mid-way.
const GREETING: &str = "Good evening and welcome to the Grand Hotel, where every guest is family and every \
                        question has an answer; tell me how I can help you today with anything at all.";
/// How long the greeting plays before the user speaks.
const BEFORE_SPEAKING: Duration = Duration::from_millis(600);
/// Silence this long after the user spoke means the agent has stopped.
const QUIET: Duration = Duration::from_millis(300);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(bench());
}

fn openai() -> OpenAiFake {
    OpenAiScript::new()
        .api_key(KEY)
        .chat(ChatScript::text([GREETING]))
        .chat(ChatScript::text(["Of course."]))
        .transcription(TranscriptionScript::text("He was not an ill disposed young man."))
        .start()
}

/// One round's two figures.
struct Round {
    join: Duration,
    interruption: Duration,
}

async fn bench() {
    let mut direct = Vec::new();
    let mut pcm = Vec::new();
    for round in 0..ROUNDS {
        // Alternating, so a slow moment of the machine hits both paths alike.
        pcm.push(pcm_round().await);
        direct.push(direct_round().await);
        eprintln!("round {round}: pcm join {:?}, direct join {:?}", pcm[round].join, direct[round].join);
    }
    println!("| what (median / p95 of {ROUNDS}) | PCM to the voice loop | direct WebRTC call | added |");
    println!("|---|---|---|---|");
    let row = |name: &str, pick: fn(&Round) -> Duration| {
        let (pm, pp) = stats(pcm.iter().map(pick).collect());
        let (dm, dp) = stats(direct.iter().map(pick).collect());
        println!(
            "| {name} | {} / {} | {} / {} | +{} ({:.2}x) |",
            ms(pm),
            ms(pp),
            ms(dm),
            ms(dp),
            ms(dm.saturating_sub(pm)),
            dm.as_secs_f64() / pm.as_secs_f64()
        );
    };
    row("join → first agent audio", |r| r.join);
    row("interruption → silence", |r| r.interruption);
}

/// The agent on a plain `AudioIo`: PCM in and out, no transport.
async fn pcm_round() -> Round {
    let openai = openai();
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let runtime = common::plugin_runtime(&env).await;
    let started = Instant::now();
    let config = ValidConfig::parse(&common::room_config().to_string(), &RuntimeCatalog(&runtime), Medium::Voice)
        .expect("a valid config");
    let (audio, ends) = AudioIo::pair();
    let (presence_tx, presence) = mpsc::channel(4);
    presence_tx.send(Presence::UserJoined("user".into())).await.expect("presence");
    let side = UserSide { link: Arc::new(Silent), presence, audio, controls: mpsc::channel(1).1 };
    let stop = tokio_util::sync::CancellationToken::new();
    let job = AgentJob { config: Some(config), ..AgentJob::new(runtime) };
    let session = tokio::spawn(agent::run(job, "", side, stop.clone()));
    let voiced = Arc::new(Mutex::new(Vec::new()));
    let mut speaker = ends.speaker;
    let heard = voiced.clone();
    tokio::spawn(async move {
        while let Some(frame) = speaker.recv().await {
            if rms(frame.samples()) > 300.0 {
                heard.lock().unwrap_or_else(PoisonError::into_inner).push(Instant::now());
            }
        }
    });
    let times = move || voiced.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let round = measure(started, times, |speech| {
        tokio::spawn(speak_into(ends.microphone.clone(), speech));
    })
    .await;
    stop.cancel();
    let _ = session.await;
    round
}

/// The same agent through the server's direct session, the user a str0m browser.
async fn direct_round() -> Round {
    let openai = openai();
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let server = common::Server::start_direct(&env, DirectOptions::default()).await;
    let started = Instant::now();
    let user = DirectUser::start(server.base(), json!({"config": common::room_config()})).await.expect("a session");
    let round = measure(started, || user.voiced_at(), |speech| user.speak(speech)).await;
    let _ = server.delete_direct(&user.session_id).await;
    round
}

/// Waits for the greeting's first voiced frame, lets it play, speaks, and waits for silence.
async fn measure(started: Instant, voiced: impl Fn() -> Vec<Instant>, speak: impl FnOnce(Vec<i16>)) -> Round {
    let first = until(|| voiced().first().copied()).await;
    tokio::time::sleep(BEFORE_SPEAKING).await;
    let spoke = Instant::now();
    speak(librivox_48k());
    // The last voiced frame after the user began, once QUIET has passed without another.
    let last = until(|| {
        let after: Vec<Instant> = voiced().into_iter().filter(|t| *t >= spoke).collect();
        let mut last = *after.first()?;
        for t in after {
            if t.duration_since(last) > QUIET {
                break;
            }
            last = t;
        }
        (last.elapsed() > QUIET).then_some(last)
    })
    .await;
    Round { join: first - started, interruption: last - spoke }
}

async fn until<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "the agent did not get there within 20 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A user side that shows nothing: the PCM path publishes no events anywhere.
struct Silent;

impl UserLink for Silent {
    fn publish_event(&self, _json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Ok(()) })
    }

    fn set_agent_state(&self, _state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Ok(()) })
    }
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[(samples.len() * 95 / 100).min(samples.len() - 1)];
    (median, p95)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
