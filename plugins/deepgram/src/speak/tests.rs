use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, only_request, recording, respond};
use voiceblox_plugin_contract::test_support::{flushed, tts_pcm as pcm};
use voiceblox_plugin_contract::types::{Event, RateLimit, TtsAudio, TtsEvent};

fn request(voice: Option<&str>, sample_rate: Option<u32>, options: Value) -> Request {
    Request { voice: voice.map(str::to_string), sample_rate, options: options.to_string() }
}

fn speak(voice: Option<&str>, sample_rate: Option<u32>) -> Speak {
    Speak::open(&config("aura-2-thalia-en", None, json!({})), &request(voice, sample_rate, json!({}))).unwrap()
}

fn text_of(request: &HttpRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[test]
fn flush_sends_one_speak_request() {
    let mut speak = speak(None, Some(16_000));
    assert!(speak.handle(Input::Start).is_empty());
    speak.handle(Input::Text("Your table is booked. ".into()));
    speak.handle(Input::Text("See you at eight!".into()));
    let (id, request) = only_request(&speak.handle(Input::Flush));
    assert_eq!(id, 1);
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://api.deepgram.com/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=16000&container=none"
    );
    assert_eq!(
        request.headers,
        [header("Authorization", "Token {{api-key}}"), header("Content-Type", "application/json")]
    );
    assert_eq!(text_of(&request), json!({"text": "Your table is booked. See you at eight!"}));
}

#[test]
fn voice_overrides_the_model_and_unsupported_rates_fall_back() {
    let mut speak = speak(Some("aura-2-andromeda-en"), Some(44_100));
    speak.handle(Input::Text("Hi.".into()));
    let (_, request) = only_request(&speak.handle(Input::Flush));
    assert_eq!(
        request.url,
        "https://api.deepgram.com/v1/speak?model=aura-2-andromeda-en&encoding=linear16&sample_rate=24000&container=none"
    );
    let actions = respond(|i| speak.handle(i), 1, 200, &[], &[1, 0], 2);
    assert_eq!(pcm(&actions, 24_000), [1, 0]);
}

#[test]
fn default_model_options_and_base_url() {
    let mut config = config("", Some("api.eu.deepgram.com"), json!({"mip_opt_out": true}));
    config.api_key = None;
    let mut speak = Speak::open(&config, &request(None, None, json!({"bit_rate": null, "tag": "ivr"}))).unwrap();
    speak.handle(Input::Text("Hi.".into()));
    let (_, request) = only_request(&speak.handle(Input::Flush));
    assert_eq!(
        request.url,
        "https://api.eu.deepgram.com/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=24000\
         &container=none&mip_opt_out=true&tag=ivr"
    );
    assert_eq!(request.headers, [header("Content-Type", "application/json")]);
}

#[test]
fn options_cannot_change_the_audio_format() {
    let config = config("aura-2-thalia-en", None, json!({}));
    for options in [json!({"encoding": "mp3"}), json!({"container": "wav"})] {
        assert!(matches!(Speak::open(&config, &request(None, None, options)), Err(ProviderError::InvalidRequest(_))));
    }
    assert_eq!(
        Speak::open(&config, &request(None, None, json!({"sample_rate": 22050}))).map(|_| ()),
        Err(ProviderError::InvalidRequest(
            "option `sample_rate` must be one of [24000, 16000, 48000, 8000, 32000]".into()
        ))
    );
    let speak = Speak::open(&config, &request(None, Some(24_000), json!({"sample_rate": 48000}))).unwrap();
    assert_eq!(speak.sample_rate, 48_000);
}

#[test]
fn streamed_pcm_comes_out_in_whole_samples_at_any_chunking() {
    let audio = recording("speak_16k.pcm");
    for &size in CHUNK_SIZES {
        let mut speak = speak(None, Some(16_000));
        speak.handle(Input::Text("Hello.".into()));
        speak.handle(Input::Flush);
        let headers = [("content-type", "audio/l16;rate=16000"), ("dg-request-id", "a1")];
        let actions = respond(|i| speak.handle(i), 1, 200, &headers, &audio, size);
        assert_eq!(pcm(&actions, 16_000), audio, "chunk size {size}");
        assert_eq!(actions.last(), Some(&flushed()));
        assert_eq!(speak.handle(Input::End), [Action::Finish]);
    }
}

#[test]
fn flushes_queue_in_order_and_end_waits() {
    let mut speak = speak(None, None);
    speak.handle(Input::Text("One.".into()));
    speak.handle(Input::Flush);
    speak.handle(Input::Text("Two.".into()));
    assert!(speak.handle(Input::Flush).is_empty());
    assert!(speak.handle(Input::End).is_empty());
    let actions = respond(|i| speak.handle(i), 1, 200, &[], &[0, 0, 9], 1);
    let (id, second) = only_request(&actions);
    assert_eq!(text_of(&second), json!({"text": "Two."}));
    assert_eq!(pcm(&actions, 24_000), [0, 0], "the odd trailing byte is dropped");
    let actions = respond(|i| speak.handle(i), id, 200, &[], &[7, 7], 1);
    assert_eq!(
        actions,
        [
            Action::Emit(Event::Tts(TtsEvent::Audio(TtsAudio { pcm: vec![7, 7], sample_rate: 24_000 }))),
            flushed(),
            Action::Finish
        ]
    );
}

#[test]
fn long_text_is_split_below_the_limit() {
    let mut speak = speak(None, None);
    speak.handle(Input::Text("A short sentence here. ".repeat(120)));
    let (_, first) = only_request(&speak.handle(Input::Flush));
    let first_len = text_of(&first)["text"].as_str().unwrap().chars().count();
    assert!(first_len <= 2000 && first_len > 1900, "{first_len}");
    let actions = respond(|i| speak.handle(i), 1, 200, &[], &[], 1);
    assert!(!actions.contains(&flushed()));
    only_request(&actions);
}

#[test]
fn empty_flush_answers_without_a_request() {
    let mut speak = speak(None, None);
    assert_eq!(speak.handle(Input::Flush), [flushed()]);
    speak.handle(Input::Text(" ".into()));
    assert_eq!(speak.handle(Input::End), [Action::Finish]);
}

/// Response headers of a recorded error.
type Headers = &'static [(&'static str, &'static str)];

#[test]
fn error_responses() {
    let cases: [(u16, Headers, &str, ProviderError); 4] = [
        (
            400,
            &[],
            "speak_error_400.json",
            ProviderError::InvalidRequest(
                "deepgram returned HTTP 400: Failed to deserialize query parameters: No such model/version combination found.".into(),
            ),
        ),
        (401, &[], "speak_error_401.json", ProviderError::Unauthorized("deepgram returned HTTP 401: Invalid credentials.".into())),
        (
            429,
            &[("retry-after", "5")],
            "speak_error_429.json",
            ProviderError::RateLimited(RateLimit {
                message: "deepgram returned HTTP 429: Too many requests. Please try again later.".into(),
                retry_after_ms: Some(5000),
            }),
        ),
        (
            503,
            &[("content-type", "text/plain")],
            "speak_error_503.txt",
            ProviderError::Unavailable(
                "deepgram returned HTTP 503: upstream connect error or disconnect/reset before headers. reset reason: connection termination".into(),
            ),
        ),
    ];
    for (status, headers, file, expected) in cases {
        let mut speak = speak(None, None);
        speak.handle(Input::Text("Hi.".into()));
        speak.handle(Input::Flush);
        let actions = respond(|i| speak.handle(i), 1, status, headers, &recording(file), 7);
        assert_eq!(actions, [Action::Fail(expected)], "{file}");
        assert!(speak.handle(Input::End).is_empty());
    }
}
