//! The Cartesia plugin, end to end: text-to-speech over the `/tts/websocket` socket (one context
//! per stream, continuations and flushes) and over `POST /tts/bytes`, against a faithful fake of
//! Cartesia's API on loopback.

use crate::common;

use std::time::Duration;

use serde_json::json;
use voiceblox_host::plugin::types::{Event, ProviderError, TtsEvent};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamInput, tts};
use voiceblox_tests::fakes::cartesia::{self, BytesScript, CartesiaScript, SocketScript};

const KEY: &str = "sk_car_test-key-4242";
const VOICE: &str = "a0e99841-438c-4a64-b679-ae501e7d6091";

async fn runtime_for(fake: &cartesia::CartesiaFake, key: &str) -> (PluginRuntime, tempfile::TempDir) {
    common::runtime_for_fake(fake.addr(), &[("CARTESIA_API_KEY", key), ("CARTESIA_BASE_URL", &fake.base_url())]).await
}

fn settings(options: serde_json::Value) -> ProviderSettings {
    let serde_json::Value::Object(options) = options else { panic!("options must be an object") };
    ProviderSettings {
        provider: "cartesia".into(),
        model: "sonic-3".into(),
        language: Some("en-US".into()),
        options,
        ..Default::default()
    }
}

fn request(options: serde_json::Value) -> OpenRequest {
    OpenRequest::Tts(tts::Request {
        voice: Some(VOICE.into()),
        sample_rate: Some(16_000),
        options: options.to_string(),
    })
}

fn flushed_at(events: &[Event]) -> Vec<usize> {
    events.iter().enumerate().filter(|(_, e)| **e == Event::Tts(TtsEvent::Flushed)).map(|(i, _)| i).collect()
}

#[tokio::test]
async fn streamed_text_is_spoken_before_the_text_is_complete() {
    let script = SocketScript::new();
    let fake = CartesiaScript::new().api_key(KEY).socket(script.clone()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream = runtime.open(&settings(json!({"emotion": "calm"})), request(json!({}))).await.unwrap();
    for input in [StreamInput::Text("Your table ".into()), StreamInput::Text("is booked.".into()), StreamInput::Flush] {
        stream.send(input).await.unwrap();
    }
    // The first sentence is heard while the second has not even been written.
    let mut events = vec![common::next_event(&mut stream).await];
    assert!(matches!(events[0], Event::Tts(TtsEvent::Audio(_))), "{events:?}");
    for input in [StreamInput::Text("See you at eight!".into()), StreamInput::Flush, StreamInput::End] {
        stream.send(input).await.unwrap();
    }
    let (rest, result) = common::collect(&mut stream).await;
    result.unwrap();
    events.extend(rest);

    let first = script.pcm_for("Your table is booked.", 16_000);
    let second = script.pcm_for("See you at eight!", 16_000);
    assert!(
        common::tts_pcm(&events, 16_000) == [first.clone(), second.clone()].concat(),
        "audio differs from what the fake sent"
    );
    // Each flush is answered once its own audio is out: the first right after the first sentence.
    let flushed = flushed_at(&events);
    assert_eq!(flushed.len(), 2, "{events:?}");
    assert!(common::tts_pcm(&events[..flushed[0]], 16_000) == first);
    assert!(common::tts_pcm(&events[flushed[0]..flushed[1]], 16_000) == second);

    let sessions = fake.wait_for(Duration::from_secs(5), |s| s.first().is_some_and(|s| s.ended)).await.unwrap();
    let session = &sessions[0];
    assert_eq!(session.header_key.as_deref(), Some(KEY));
    assert_eq!(session.version, "2025-04-16");
    assert_eq!(session.spoken(), ["Your table is booked.", "See you at eight!"]);
    assert_eq!(session.flushes, 2);
    assert_eq!(session.done.len(), 1, "one context for the whole stream");
    let received = session.received_json();
    // Every chunk went out as it came, as a continuation of one context.
    let transcripts: Vec<&str> = received.iter().map(|r| r["transcript"].as_str().unwrap()).collect();
    assert_eq!(transcripts, ["Your table ", "is booked.", "", "See you at eight!", "", ""]);
    assert!(received.iter().all(|r| r["context_id"] == received[0]["context_id"]));
    assert_eq!(received[0]["continue"], true);
    assert_eq!(received.last().unwrap()["continue"], false);
    assert_eq!(received[0]["model_id"], "sonic-3");
    assert_eq!(received[0]["voice"], json!({"mode": "id", "id": VOICE}));
    assert_eq!(received[0]["language"], "en");
    assert_eq!(received[0]["generation_config"], json!({"emotion": "calm"}));
    assert_eq!(
        received[0]["output_format"],
        json!({"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000})
    );
    assert_eq!(session.client_close.as_ref().map(|c| c.0), Some(1000), "the stream closed its socket after done");
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_never_echoed() {
    let fake = CartesiaScript::new().api_key("the-right-key").start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream = runtime.open(&settings(json!({})), request(json!({}))).await.unwrap();
    for input in [StreamInput::Text("Hello.".into()), StreamInput::Flush, StreamInput::End] {
        // The stream may already have failed; `collect` reports how.
        let _ = stream.send(input).await;
    }
    let (events, result) = common::collect(&mut stream).await;
    assert!(events.is_empty(), "{events:?}");
    match result.unwrap_err() {
        StreamError::Provider { error: ProviderError::Unauthorized(message), .. } => {
            assert!(message.contains("401") && message.contains("invalid_api_key"), "{message}");
            assert!(!message.contains(KEY), "no key in errors: {message}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(fake.requests().len(), 1, "one handshake, no retry");
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn running_out_of_credits_fails_the_socket_stream() {
    let fake = CartesiaScript::new().socket(SocketScript::out_of_credits()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream = runtime.open(&settings(json!({})), request(json!({}))).await.unwrap();
    for input in [StreamInput::Text("Hello.".into()), StreamInput::Flush, StreamInput::End] {
        let _ = stream.send(input).await;
    }
    let err = common::collect(&mut stream).await.1.unwrap_err();
    assert!(
        matches!(&err, StreamError::Provider { error: ProviderError::Unauthorized(m), .. }
            if m.starts_with("cartesia error 402") && m.contains("insufficient_credits")),
        "{err}"
    );
}

#[tokio::test]
async fn the_http_transport_requests_each_flush() {
    let script = BytesScript::tone();
    let fake = CartesiaScript::new().api_key(KEY).bytes(script.clone()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream =
        runtime.open(&settings(json!({})), request(json!({"transport": "http", "speed": 1.1}))).await.unwrap();
    for input in [
        StreamInput::Text("Your table is booked.".into()),
        StreamInput::Flush,
        StreamInput::Text("See you at eight!".into()),
        StreamInput::Flush,
        StreamInput::End,
    ] {
        stream.send(input).await.unwrap();
    }
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let first = script.pcm_for("Your table is booked.", 16_000);
    let expected = [first.clone(), script.pcm_for("See you at eight!", 16_000)].concat();
    assert!(common::tts_pcm(&events, 16_000) == expected, "audio differs from what the fake sent");
    let flushed = flushed_at(&events);
    assert_eq!(flushed.len(), 2);
    assert!(common::tts_pcm(&events[..flushed[0]], 16_000) == first);
    let requests = fake.bytes_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("x-api-key"), Some(KEY));
    assert_eq!(requests[0].header("cartesia-version"), Some("2025-04-16"));
    assert_eq!(
        requests[0].json().unwrap(),
        json!({
            "model_id": "sonic-3",
            "transcript": "Your table is booked.",
            "voice": {"mode": "id", "id": VOICE},
            "language": "en",
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
            "generation_config": {"speed": 1.1},
        })
    );
    assert!(fake.sessions().is_empty(), "no socket on the HTTP transport");
}

#[tokio::test]
async fn an_http_rate_limit_carries_the_retry_hint() {
    let fake = CartesiaScript::new().bytes(BytesScript::error(429).retry_after(2)).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream = runtime.open(&settings(json!({"transport": "http"})), request(json!({}))).await.unwrap();
    for input in [StreamInput::Text("Hello.".into()), StreamInput::Flush, StreamInput::End] {
        let _ = stream.send(input).await;
    }
    match common::collect(&mut stream).await.1.unwrap_err() {
        StreamError::Provider { error: ProviderError::RateLimited(limit), .. } => {
            assert_eq!(limit.retry_after_ms, Some(2000));
            assert!(limit.message.starts_with("cartesia returned HTTP 429: "), "{}", limit.message);
        }
        other => panic!("{other}"),
    }
}
