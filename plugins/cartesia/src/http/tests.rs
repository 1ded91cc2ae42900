use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, request, respond};
use voiceblox_plugin_contract::test_support::{flushed, tts_pcm as pcm};
use voiceblox_plugin_contract::types::{ProviderError, RateLimit};

fn speech(voice: Option<&str>, rate: Option<u32>, options: Value) -> HttpSpeech {
    let mut options = options;
    options["transport"] = json!("http");
    let mut config = config("sonic-3", None, json!({}));
    config.language = Some("en-US".into());
    let settings = Settings::new(&config, &request(voice, rate, options));
    HttpSpeech::open(&settings.unwrap())
}

#[test]
fn flush_sends_one_bytes_request() {
    let mut speech = speech(Some("a0e99841-438c-4a64-b679-ae501e7d6091"), Some(16_000), json!({"speed": 0.9}));
    assert!(speech.handle(Input::Start).is_empty());
    speech.handle(Input::Text("Your table is booked. ".into()));
    speech.handle(Input::Text("See you at eight!".into()));
    let (id, request) = only_request(&speech.handle(Input::Flush));
    assert_eq!(id, 1);
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.cartesia.ai/tts/bytes");
    assert_eq!(
        header_pairs(&request),
        [("X-API-Key", "{{api-key}}"), ("Cartesia-Version", "2025-04-16"), ("Content-Type", "application/json")]
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&request.body).unwrap(),
        json!({
            "model_id": "sonic-3",
            "transcript": "Your table is booked. See you at eight!",
            "voice": {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"},
            "language": "en",
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
            "generation_config": {"speed": 0.9},
        })
    );
}

#[test]
fn streamed_pcm_comes_out_in_whole_samples_at_any_chunking() {
    let audio = recording("speech_24k.pcm");
    for &size in CHUNK_SIZES {
        let mut speech = speech(None, None, json!({}));
        speech.handle(Input::Text("Hello.".into()));
        speech.handle(Input::Flush);
        let headers = [("content-type", "application/octet-stream"), ("transfer-encoding", "chunked")];
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
    let cases: [(u16, Headers, &str, ProviderError); 5] = [
        (
            401,
            &[("content-type", "application/json")],
            "error_401.json",
            ProviderError::Unauthorized(
                "cartesia returned HTTP 401: The API key you provided is invalid. Check the X-API-Key header.".into(),
            ),
        ),
        (
            400,
            &[("content-type", "application/json")],
            "error_400_voice.json",
            ProviderError::InvalidRequest("cartesia returned HTTP 400: Voice with id 'nope' was not found.".into()),
        ),
        (
            429,
            &[("content-type", "application/json"), ("retry-after", "3")],
            "error_429.json",
            ProviderError::RateLimited(RateLimit {
                message: "cartesia returned HTTP 429: You have exceeded the concurrency limit of your plan.".into(),
                retry_after_ms: Some(3000),
            }),
        ),
        (
            500,
            &[("content-type", "text/plain")],
            "error_500.txt",
            ProviderError::Unavailable("cartesia returned HTTP 500: Internal Server Error".into()),
        ),
        (
            503,
            &[("content-type", "text/html")],
            "error_503.html",
            ProviderError::Unavailable(
                "cartesia returned HTTP 503: <html>\r\n<head><title>503 Service Temporarily Unavailable</title>\
                 </head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n\
                 </html>"
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
