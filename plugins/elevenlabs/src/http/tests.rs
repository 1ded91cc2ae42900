use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, request, respond};
use voiceblox_plugin_contract::test_support::{flushed, tts_pcm as pcm};
use voiceblox_plugin_contract::types::{ProviderError, RateLimit};

fn speech(voice: Option<&str>, rate: Option<u32>, options: Value) -> HttpSpeech {
    let mut options = options;
    options["transport"] = json!("http");
    let settings = Settings::new(&config("eleven_flash_v2_5", None, json!({})), &request(voice, rate, options));
    HttpSpeech::open(&settings.unwrap())
}

#[test]
fn flush_sends_one_stream_request() {
    let mut speech =
        speech(Some("pNInz6obpgDQGcFmaJgB"), Some(16_000), json!({"stability": 0.45, "similarityBoost": 0.8}));
    assert!(speech.handle(Input::Start).is_empty());
    speech.handle(Input::Text("Your table is booked. ".into()));
    speech.handle(Input::Text("See you at eight!".into()));
    let (id, request) = only_request(&speech.handle(Input::Flush));
    assert_eq!(id, 1);
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://api.elevenlabs.io/v1/text-to-speech/pNInz6obpgDQGcFmaJgB/stream?output_format=pcm_16000"
    );
    assert_eq!(header_pairs(&request), [("xi-api-key", "{{api-key}}"), ("Content-Type", "application/json")]);
    assert_eq!(
        serde_json::from_slice::<Value>(&request.body).unwrap(),
        json!({
            "text": "Your table is booked. See you at eight!",
            "model_id": "eleven_flash_v2_5",
            "voice_settings": {"stability": 0.45, "similarity_boost": 0.8},
        })
    );
}

#[test]
fn streamed_pcm_comes_out_in_whole_samples_at_any_chunking() {
    let audio = recording("speech_24k.pcm");
    for &size in CHUNK_SIZES {
        let mut speech = speech(None, None, json!({}));
        speech.handle(Input::Text("Hello.".into()));
        let (_, request) = only_request(&speech.handle(Input::Flush));
        assert_eq!(
            serde_json::from_slice::<Value>(&request.body).unwrap(),
            json!({"text": "Hello.", "model_id": "eleven_flash_v2_5"})
        );
        let headers = [("content-type", "audio/pcm"), ("request-id", "r1")];
        let actions = respond(|i| speech.handle(i), 1, 200, &headers, &audio, size);
        assert_eq!(pcm(&actions, 24_000), audio, "chunk size {size}");
        assert_eq!(actions.last(), Some(&flushed()));
        assert_eq!(speech.handle(Input::End), [Action::Finish]);
    }
}

/// Response headers of a recorded error.
type Headers = &'static [(&'static str, &'static str)];

#[test]
fn error_responses() {
    let cases: [(u16, Headers, &str, ProviderError); 6] = [
        (
            401,
            &[],
            "error_401_invalid_key.json",
            ProviderError::Unauthorized("elevenlabs returned HTTP 401: Invalid API key (invalid_api_key)".into()),
        ),
        (
            401,
            &[],
            "error_401_quota.json",
            ProviderError::Unauthorized(
                "elevenlabs returned HTTP 401: This request exceeds your quota of 10000. You have 0 credits remaining, \
                 while 91 credits are required for this request. (quota_exceeded)"
                    .into(),
            ),
        ),
        (
            404,
            &[],
            "error_404_voice.json",
            ProviderError::InvalidRequest(
                "elevenlabs returned HTTP 404: A voice with the voice_id nope was not found. (voice_not_found)".into(),
            ),
        ),
        (422, &[], "error_422.json", ProviderError::InvalidRequest("elevenlabs returned HTTP 422: Field required".into())),
        (
            429,
            &[("retry-after", "2")],
            "error_429.json",
            ProviderError::RateLimited(RateLimit {
                message: "elevenlabs returned HTTP 429: Too many concurrent requests. Your current subscription is \
                          associated with a maximum of 2 concurrent requests (running in parallel). Please upgrade \
                          your subscription or contact sales if you want to increase this limit. \
                          (too_many_concurrent_requests)"
                    .into(),
                retry_after_ms: Some(2000),
            }),
        ),
        (
            503,
            &[("content-type", "text/html")],
            "error_503.html",
            ProviderError::Unavailable(
                "elevenlabs returned HTTP 503: <html><head><title>503 Service Temporarily Unavailable</title></head>\
                 <body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
                    .into(),
            ),
        ),
    ];
    for (status, headers, file, expected) in cases {
        for &size in CHUNK_SIZES {
            let mut speech = speech(None, None, json!({}));
            speech.handle(Input::Text("Hi.".into()));
            speech.handle(Input::Flush);
            let actions = respond(|i| speech.handle(i), 1, status, headers, &recording(file), size);
            assert_eq!(actions, [Action::Fail(expected.clone())], "{file} at {size}");
            assert!(speech.handle(Input::End).is_empty());
        }
    }
}
