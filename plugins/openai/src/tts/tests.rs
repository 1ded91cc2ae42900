use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, respond};
use voiceblox_plugin_contract::types::{Event, RateLimit, TtsEvent};

fn speech(options: Value, voice: Option<&str>) -> Speech {
    let request = Request { voice: voice.map(str::to_string), sample_rate: Some(24_000), options: options.to_string() };
    Speech::open(&config("gpt-4o-mini-tts", None, json!({})), &request).unwrap()
}

fn body_json(request: &HttpRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn flushed() -> Action {
    Action::Emit(Event::Tts(TtsEvent::Flushed))
}

/// The PCM carried by the audio events, checking each holds whole samples at 24 kHz.
fn pcm(actions: &[Action]) -> Vec<u8> {
    let mut out = Vec::new();
    for action in actions {
        if let Action::Emit(Event::Tts(TtsEvent::Audio(audio))) = action {
            assert_eq!(audio.sample_rate, 24_000);
            assert_eq!(audio.pcm.len() % 2, 0, "audio events carry whole samples");
            assert!(!audio.pcm.is_empty());
            out.extend_from_slice(&audio.pcm);
        }
    }
    out
}

#[test]
fn flush_sends_one_speech_request() {
    let mut speech = speech(json!({"instructions": "Speak warmly.", "speed": 1.1}), Some("coral"));
    assert!(speech.handle(Input::Start).is_empty());
    assert!(speech.handle(Input::Text("Hello! ".into())).is_empty());
    assert!(speech.handle(Input::Text("How can I help?".into())).is_empty());
    let (id, request) = only_request(&speech.handle(Input::Flush));
    assert_eq!(id, 1);
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.openai.com/v1/audio/speech");
    assert_eq!(header_pairs(&request), [("Authorization", "Bearer {{api-key}}"), ("Content-Type", "application/json")]);
    assert_eq!(
        body_json(&request),
        json!({
            "model": "gpt-4o-mini-tts",
            "input": "Hello! How can I help?",
            "voice": "coral",
            "response_format": "pcm",
            "instructions": "Speak warmly.",
            "speed": 1.1,
        })
    );
}

#[test]
fn defaults_without_options() {
    let request = Request { voice: None, sample_rate: None, options: "{}".into() };
    let mut config = config("", None, json!({}));
    config.api_key = None;
    let mut speech = Speech::open(&config, &request).unwrap();
    speech.handle(Input::Text("Hi.".into()));
    let (_, request) = only_request(&speech.handle(Input::Flush));
    assert_eq!(header_pairs(&request), [("Content-Type", "application/json")]);
    assert_eq!(
        body_json(&request),
        json!({"model": "gpt-4o-mini-tts", "input": "Hi.", "voice": "alloy", "response_format": "pcm"})
    );
}

#[test]
fn streamed_pcm_comes_out_in_whole_samples_at_any_chunking() {
    let audio = recording("speech_24k.pcm");
    for &size in CHUNK_SIZES {
        let mut speech = speech(json!({}), None);
        speech.handle(Input::Text("Hello.".into()));
        speech.handle(Input::Flush);
        let actions = respond(|i| speech.handle(i), 1, 200, &[("content-type", "audio/pcm")], &audio, size);
        assert_eq!(pcm(&actions), audio, "chunk size {size}");
        assert_eq!(actions.last(), Some(&flushed()), "chunk size {size}");
        assert_eq!(speech.handle(Input::End), [Action::Finish]);
        assert!(speech.handle(Input::Text("late".into())).is_empty());
    }
}

#[test]
fn odd_trailing_byte_is_dropped_and_next_response_stays_aligned() {
    let mut speech = speech(json!({}), None);
    speech.handle(Input::Text("One.".into()));
    speech.handle(Input::Flush);
    speech.handle(Input::Text("Two.".into()));
    assert!(speech.handle(Input::Flush).is_empty(), "second flush waits for the first");
    let first = respond(|i| speech.handle(i), 1, 200, &[], &[1, 2, 3], 3);
    assert_eq!(pcm(&first), [1, 2]);
    let (id, request) = only_request(&first);
    assert_eq!((id, body_json(&request)["input"].clone()), (2, json!("Two.")));
    let second = respond(|i| speech.handle(i), 2, 200, &[], &[4, 5], 1);
    assert_eq!(pcm(&second), [4, 5]);
}

#[test]
fn flushes_are_served_in_order_and_end_waits_for_the_queue() {
    let mut speech = speech(json!({}), None);
    speech.handle(Input::Text("First sentence.".into()));
    let (first_id, _) = only_request(&speech.handle(Input::Flush));
    speech.handle(Input::Text("Second.".into()));
    assert!(speech.handle(Input::Flush).is_empty());
    assert!(speech.handle(Input::Flush).is_empty(), "an empty flush queues behind the others");
    speech.handle(Input::Text("Third.".into()));
    assert!(speech.handle(Input::End).is_empty(), "unflushed text is flushed by end");

    let actions = respond(|i| speech.handle(i), first_id, 200, &[], &[0, 0], 1);
    let (second_id, second) = only_request(&actions);
    assert_eq!(actions[1], flushed());
    assert_eq!(body_json(&second)["input"], "Second.");

    let actions = respond(|i| speech.handle(i), second_id, 200, &[], &[0, 0], 2);
    // The empty flush answers right after the second, then the third is requested.
    let (third_id, third) = only_request(&actions);
    assert_eq!(actions.iter().filter(|a| **a == flushed()).count(), 2);
    assert_eq!(body_json(&third)["input"], "Third.");

    let actions = respond(|i| speech.handle(i), third_id, 200, &[], &[0, 0], 2);
    assert_eq!(actions[actions.len() - 2..], [flushed(), Action::Finish]);
}

#[test]
fn whitespace_flush_sends_nothing_but_answers() {
    let mut speech = speech(json!({}), None);
    speech.handle(Input::Text("  \n ".into()));
    assert_eq!(speech.handle(Input::Flush), [flushed()]);
    assert_eq!(speech.handle(Input::End), [Action::Finish]);
}

#[test]
fn long_text_is_split_below_the_input_limit() {
    let mut speech = speech(json!({}), None);
    let sentence = "This sentence is exactly fifty characters long ok. ";
    speech.handle(Input::Text(sentence.repeat(100)));
    let (_, first) = only_request(&speech.handle(Input::Flush));
    let first_len = body_json(&first)["input"].as_str().unwrap().chars().count();
    assert!(first_len <= 4096 && first_len > 4000, "{first_len}");
    let actions = respond(|i| speech.handle(i), 1, 200, &[], &[0, 0], 2);
    assert!(!actions.contains(&flushed()), "flushed only after the last piece");
    let (_, second) = only_request(&actions);
    assert!(body_json(&second)["input"].as_str().unwrap().ends_with("long ok."));
    let actions = respond(|i| speech.handle(i), 2, 200, &[], &[0, 0], 2);
    assert_eq!(actions.last(), Some(&flushed()));
}

#[test]
fn error_responses_fail_the_stream() {
    let mut speech = speech(json!({}), None);
    speech.handle(Input::Text("Hi.".into()));
    speech.handle(Input::Flush);
    let actions = respond(|i| speech.handle(i), 1, 429, &[("retry-after", "2")], &recording("error_429.json"), 17);
    let [Action::Fail(ProviderError::RateLimited(RateLimit { message, retry_after_ms }))] = actions.as_slice() else {
        panic!("{actions:?}");
    };
    assert!(message.starts_with("openai returned HTTP 429: Rate limit reached"));
    assert_eq!(*retry_after_ms, Some(2000));
    assert!(speech.handle(Input::End).is_empty(), "a failed stream is over");

    let mut speech = speech_with_unauthorized();
    let actions = respond(|i| speech.handle(i), 1, 401, &[], &recording("error_401.json"), 5);
    assert!(matches!(actions.as_slice(), [Action::Fail(ProviderError::Unauthorized(_))]));
}

fn speech_with_unauthorized() -> Speech {
    let mut speech = speech(json!({}), None);
    speech.handle(Input::Text("Hi.".into()));
    speech.handle(Input::Flush);
    speech
}

#[test]
fn invalid_options_fail_at_open() {
    let open = |options: Value| {
        let request = Request { voice: None, sample_rate: None, options: options.to_string() };
        Speech::open(&config("tts-1", None, json!({})), &request).map(|_| ())
    };
    assert_eq!(
        open(json!({"speed": 9})),
        Err(ProviderError::InvalidRequest("option `speed` must be between 0.25 and 4.0, got 9".into()))
    );
    assert_eq!(
        open(json!({"speed": "fast"})),
        Err(ProviderError::InvalidRequest("option `speed` must be a number, got a string".into()))
    );
    assert_eq!(
        open(json!({"instructions": ["a"]})),
        Err(ProviderError::InvalidRequest("option `instructions` must be a string, got an array".into()))
    );
}
