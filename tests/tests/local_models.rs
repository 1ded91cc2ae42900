//! The local models on tract, fetched with pip from the PyPI packages that ship them (kept under
//! `target/models`):
//! - the end-of-turn model (Smart Turn v3.2) hears a finished sentence as done and a trailing
//!   "um" as not; in a voice session with `turnDetection: "model"` the agent answers the first at
//!   the usual delay and waits after the second, where VAD silence would not;
//! - the Silero VAD finds real speech where it is and nothing in noise, and a voice session with
//!   `vad: "silero"` hears the user with it.

use crate::common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::sync::OnceCell;
use voiceblox_host::audio::{AudioFrame, SileroVad, Vad, VadConfig, VadEvent};
use voiceblox_host::config::VadModel;
use voiceblox_host::flowtest::run::run;
use voiceblox_host::flowtest::spec::TestSpec;
use voiceblox_host::models;
use voiceblox_host::record::replay::on_virtual_time;
use voiceblox_turn::{SileroModel, SmartTurn, THRESHOLD, wheel};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../turn/testdata").join(name)
}

fn samples(path: &Path) -> Vec<i16> {
    let reader = hound::WavReader::open(path).unwrap();
    assert_eq!((reader.spec().sample_rate, reader.spec().channels), (16_000, 1));
    reader.into_samples().map(Result::unwrap).collect()
}

/// The model, fetched once per target folder.
async fn model() -> SmartTurn {
    static MODEL: OnceCell<SmartTurn> = OnceCell::const_new();
    MODEL
        .get_or_init(|| async {
            let path = voiceblox_tests::models::fetched(&wheel::SMART_TURN).await;
            let model = tokio::task::spawn_blocking(move || SmartTurn::load(&path)).await.unwrap();
            model.expect("the fetched model loads")
        })
        .await
        .clone()
}

#[tokio::test]
async fn the_model_hears_a_finished_sentence_as_done_and_a_trailing_um_as_not() {
    let model = model().await;
    let book = samples(&testdata("espeak-book.wav"));
    let um = samples(&testdata("espeak-um.wav"));
    let librivox =
        samples(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src/audio/testdata/librivox-sense-0880.wav"));
    let cut = &librivox[..(1.3 * 16_000.0) as usize];
    let p = |audio: &[i16]| model.probability(audio).unwrap();
    // Wide margins: the int8 model's output moves by tenths between runtimes near 0.5.
    assert!(p(&book) > 0.8, "a finished request: {}", p(&book));
    assert!(p(&um) < 0.2, "a trailing um: {}", p(&um));
    assert!(p(cut) < 0.2, "cut mid-sentence: {}", p(cut));
    assert!(p(&[0; 16_000]) > THRESHOLD, "silence");
}

async fn silero() -> SileroModel {
    static MODEL: OnceCell<SileroModel> = OnceCell::const_new();
    MODEL
        .get_or_init(|| async {
            let path = voiceblox_tests::models::fetched(&wheel::SILERO_VAD).await;
            let model = tokio::task::spawn_blocking(move || SileroModel::load(&path)).await.unwrap();
            model.expect("the fetched model loads")
        })
        .await
        .clone()
}

/// The session's eou delay (speech end → turn end) for `clip` with these turn-taking settings.
async fn end_of_turn_delay(turn_taking: Value, clip: &str, heard: &str) -> f64 {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    models::TURN.provide(model().await);
    models::SILERO.provide(silero().await);
    let config = json!({
        "agentName": "Desk",
        "instructions": "You take bookings.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "turnTaking": turn_taking,
        "steps": [
            {"id": "s", "type": "start", "command": "Hello.", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Take the booking."}
        ]
    });
    let test: TestSpec = serde_json::from_value(json!({
        "name": "a spoken turn",
        "llm": ["Certainly."],
        "turns": [{"audio": testdata(clip).display().to_string(), "user": heard}]
    }))
    .unwrap();
    let session = tokio::task::spawn_blocking(move || {
        on_virtual_time(async move { run(&test, &config.to_string(), &runtime, Path::new(".")).await })
    })
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let user_turn = session.events.iter().find(|e| e["type"] == "metrics" && e["turn"] == 2);
    let delay = user_turn.and_then(|m| m.get("eouDelayMs")).and_then(Value::as_f64);
    delay.unwrap_or_else(|| panic!("no user turn: {:?}", session.events))
}

const BOOK: &str = "I would like to book a table for two people tonight.";
const UM: &str = "What I really want to know is, um";

#[tokio::test]
async fn with_model_detection_the_agent_answers_a_finished_sentence_and_waits_after_an_um() {
    let model = json!({"turnDetection": "model"});
    let done = end_of_turn_delay(model.clone(), "espeak-book.wav", BOOK).await;
    let um = end_of_turn_delay(model, "espeak-um.wav", UM).await;
    let vad_um = end_of_turn_delay(json!({"turnDetection": "vad"}), "espeak-um.wav", UM).await;
    // Default delays: 0.5 s when done, up to 3 s when not; the VAD waits 0.5 s either way.
    assert!(done < 1500.0, "a finished sentence waited {done} ms");
    assert!(um >= 3000.0, "after an um the agent waited only {um} ms");
    assert!(vad_um < 1500.0, "VAD silence took {vad_um} ms");
}

/// Feeds 16 kHz samples in 20 ms frames; the speech segments found, in seconds.
fn segments(vad: &mut dyn Vad, samples: &[i16]) -> Vec<(f64, f64)> {
    let mut segments = Vec::new();
    let mut start = None;
    for (i, chunk) in samples.chunks(320).enumerate() {
        let frame = AudioFrame::new(chunk.to_vec(), 16_000, 1).unwrap();
        for event in vad.push(&frame, std::time::Duration::from_millis(20 * i as u64)).unwrap() {
            match event {
                VadEvent::SpeechStarted { at, .. } => start = Some(at.as_secs_f64()),
                VadEvent::SpeechEnded { at } => segments.push((start.take().unwrap(), at.as_secs_f64())),
            }
        }
    }
    assert!(!vad.is_speaking(), "still speaking at the end: {segments:?}");
    segments
}

/// Deterministic low-level noise (xorshift).
fn noise(n: usize, amp: i32, mut x: u32) -> impl Iterator<Item = i16> {
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ((x % (2 * amp as u32 + 1)) as i32 - amp) as i16
    })
}

#[tokio::test]
async fn silero_finds_the_recorded_sentence_where_it_is_and_nothing_in_noise() {
    let model = silero().await;
    let librivox =
        samples(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src/audio/testdata/librivox-sense-0880.wav"));
    // A second of quiet noise, the sentence (speech 0.2508-2.7739 s in the file), a second more.
    let mut signal: Vec<i16> = noise(16_000, 30, 7).collect();
    signal.extend(&librivox);
    signal.extend(noise(16_000, 30, 11));
    let mut vad = SileroVad::new(&model, VadConfig::default()).unwrap();
    let found = segments(&mut vad, &signal);
    let (from, to) = (1.2508, 3.7739);
    assert!(!found.is_empty(), "no speech found");
    assert!((found[0].0 - from).abs() < 0.15, "onset {found:?} vs {from}");
    assert!((found[found.len() - 1].1 - to).abs() < 0.3, "offset {found:?} vs {to}");

    // The same detector, reset, hears three seconds of louder noise as nothing.
    vad.reset();
    let noisy: Vec<i16> = noise(48_000, 600, 3).collect();
    assert_eq!(segments(&mut vad, &noisy), vec![]);
    // Thresholds are checked as for earshot.
    let bad = VadConfig { activation_threshold: 0.2, deactivation_threshold: 0.4, ..VadConfig::default() };
    assert!(SileroVad::new(&model, bad).is_err());
}

#[tokio::test]
async fn a_session_with_the_silero_vad_hears_the_user_and_answers() {
    models::SILERO.provide(silero().await);
    let vad = voiceblox_host::voice::vad::for_session(VadModel::Silero, VadConfig::default(), false).await.unwrap();
    assert_eq!(vad.name(), "silero");
    let vad = voiceblox_host::voice::vad::for_session(VadModel::Earshot, VadConfig::default(), false).await.unwrap();
    assert_eq!(vad.name(), "earshot");
    let delay = end_of_turn_delay(json!({"vad": "silero"}), "espeak-book.wav", BOOK).await;
    assert!(delay < 1500.0, "the turn ended {delay} ms after the speech");
}
