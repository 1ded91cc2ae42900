//! The local end-of-turn model (Smart Turn v3.2 on tract): fetched with pip from the PyPI
//! package that ships it (kept under `target/models`), it hears a finished sentence as done and
//! a trailing "um" as not; in a voice session with `turnDetection: "model"` the agent answers
//! the first at the usual delay and waits after the second, where VAD silence would not.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::sync::OnceCell;
use voiceblox_host::flowtest::run::run;
use voiceblox_host::flowtest::spec::TestSpec;
use voiceblox_host::record::replay::on_virtual_time;
use voiceblox_host::voice::turn_model;
use voiceblox_turn::{SmartTurn, THRESHOLD, wheel};

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
            let dir = voiceblox_tests::target_dir().join("models");
            let path = dir.join(wheel::MODEL_FILE);
            let path = if path.exists() { path } else { turn_model::fetch(&dir).await.expect("fetching with pip") };
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

/// The session's eou delay (speech end → turn end) for `clip` with `detection`.
async fn end_of_turn_delay(detection: &str, clip: &str, heard: &str) -> f64 {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    turn_model::provide(model().await);
    let config = json!({
        "agentName": "Desk",
        "instructions": "You take bookings.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "turnTaking": {"turnDetection": detection},
        "steps": [
            {"id": "s", "type": "start", "command": "Hello.", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Take the booking."}
        ]
    });
    let test: TestSpec = serde_json::from_value(json!({
        "name": detection,
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

#[tokio::test]
async fn with_model_detection_the_agent_answers_a_finished_sentence_and_waits_after_an_um() {
    let done =
        end_of_turn_delay("model", "espeak-book.wav", "I would like to book a table for two people tonight.").await;
    let um = end_of_turn_delay("model", "espeak-um.wav", "What I really want to know is, um").await;
    let vad_um = end_of_turn_delay("vad", "espeak-um.wav", "What I really want to know is, um").await;
    // Default delays: 0.5 s when done, up to 3 s when not; the VAD waits 0.5 s either way.
    assert!(done < 1500.0, "a finished sentence waited {done} ms");
    assert!(um >= 3000.0, "after an um the agent waited only {um} ms");
    assert!(vad_um < 1500.0, "VAD silence took {vad_um} ms");
}
