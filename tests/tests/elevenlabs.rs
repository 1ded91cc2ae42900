//! The ElevenLabs plugin, end to end: text-to-speech over the stream-input WebSocket and over
//! HTTP streaming, against a faithful fake of ElevenLabs' API on loopback.

use crate::common;

use serde_json::json;
use voiceblox_host::plugin::types::{Event, ProviderError, TtsEvent};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamInput, tts};
use voiceblox_tests::fakes::elevenlabs::{self, ElevenLabsScript, SpeechScript, StreamInputScript};

const KEY: &str = "xi-test-key-4242";
const VOICE: &str = "21m00Tcm4TlvDq8ikWAM";

async fn runtime_for(fake: &elevenlabs::ElevenLabsFake, key: &str) -> (PluginRuntime, tempfile::TempDir) {
    common::runtime_for_fake(fake.addr(), &[("ELEVENLABS_API_KEY", key), ("ELEVENLABS_BASE_URL", &fake.base_url())])
        .await
}

fn settings(options: serde_json::Value) -> ProviderSettings {
    let serde_json::Value::Object(options) = options else { panic!("options must be an object") };
    ProviderSettings {
        provider: "elevenlabs".into(),
        model: "eleven_flash_v2_5".into(),
        language: Some("en".into()),
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

#[tokio::test]
async fn streamed_text_is_spoken_before_the_text_is_complete() {
    let script = StreamInputScript::new();
    let fake = ElevenLabsScript::new().api_key(KEY).stream_input(script.clone()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let options = json!({"stability": 0.45, "similarityBoost": 0.8});
    let mut stream = runtime.open(&settings(options), request(json!({}))).await.unwrap();
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
        common::tts_pcm(&events, 16_000) == [first.clone(), second].concat(),
        "audio differs from what the fake sent"
    );
    // Each flush is answered once its own audio is out: the first right after the first sentence.
    let flushed: Vec<usize> =
        events.iter().enumerate().filter(|(_, e)| **e == Event::Tts(TtsEvent::Flushed)).map(|(i, _)| i).collect();
    assert_eq!(flushed.len(), 2, "{events:?}");
    assert_eq!(common::tts_pcm(&events[..flushed[0]], 16_000), first);

    let session = &fake.sessions()[0];
    assert_eq!(session.header_key.as_deref(), Some(KEY));
    assert_eq!(session.voice_id, VOICE);
    assert_eq!(session.query_param("model_id"), Some("eleven_flash_v2_5"));
    assert_eq!(session.query_param("output_format"), Some("pcm_16000"));
    assert_eq!(session.generations, ["Your table is booked.", "See you at eight!"]);
    let received = session.received_json();
    assert_eq!(received[0], json!({"text": " ", "voice_settings": {"stability": 0.45, "similarity_boost": 0.8}}));
    assert_eq!(received.last(), Some(&json!({"text": ""})));
    assert_eq!(session.server_close, Some((1000, String::new())));
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_never_echoed() {
    let fake = ElevenLabsScript::new().api_key("the-right-key").start();
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
            assert!(message.contains("Invalid API key"), "{message}");
            assert!(!message.contains(KEY), "no key in errors: {message}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(fake.sessions().len(), 1, "one connection, no retry");
}

#[tokio::test]
async fn an_exhausted_quota_fails_the_socket_stream() {
    let fake = ElevenLabsScript::new().stream_input(StreamInputScript::quota_exceeded()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream = runtime.open(&settings(json!({})), request(json!({}))).await.unwrap();
    for input in [StreamInput::Text("Hello.".into()), StreamInput::Flush, StreamInput::End] {
        let _ = stream.send(input).await;
    }
    let err = common::collect(&mut stream).await.1.unwrap_err();
    assert!(
        matches!(&err, StreamError::Provider { error: ProviderError::Unauthorized(m), .. } if m.contains("quota_exceeded")),
        "{err}"
    );
}

#[tokio::test]
async fn the_http_transport_streams_each_flush() {
    let script = SpeechScript::tone();
    let fake = ElevenLabsScript::new().api_key(KEY).speech(script.clone()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let options = json!({"transport": "http", "stability": 0.3});
    let mut stream = runtime.open(&settings(json!({})), request(options)).await.unwrap();
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
    let expected =
        [script.pcm_for("Your table is booked.", 16_000), script.pcm_for("See you at eight!", 16_000)].concat();
    assert!(common::tts_pcm(&events, 16_000) == expected, "audio differs from what the fake sent");
    assert_eq!(events.iter().filter(|e| **e == Event::Tts(TtsEvent::Flushed)).count(), 2);
    let requests = fake.speech_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("xi-api-key"), Some(KEY));
    assert_eq!(requests[0].path(), format!("/v1/text-to-speech/{VOICE}/stream"));
    assert_eq!(requests[0].query_param("output_format").as_deref(), Some("pcm_16000"));
    assert_eq!(
        requests[0].json().unwrap(),
        json!({
            "text": "Your table is booked.",
            "model_id": "eleven_flash_v2_5",
            "voice_settings": {"stability": 0.3, "similarity_boost": 0.75},
        })
    );
}

#[tokio::test]
async fn an_http_quota_error_is_unauthorized_with_elevenlabs_explanation() {
    let fake = ElevenLabsScript::new().speech(SpeechScript::quota_exceeded()).start();
    let (runtime, _dir) = runtime_for(&fake, KEY).await;
    let mut stream = runtime.open(&settings(json!({"transport": "http"})), request(json!({}))).await.unwrap();
    for input in [StreamInput::Text("Hello.".into()), StreamInput::Flush, StreamInput::End] {
        let _ = stream.send(input).await;
    }
    match common::collect(&mut stream).await.1.unwrap_err() {
        StreamError::Provider { error: ProviderError::Unauthorized(message), .. } => {
            assert!(message.starts_with("elevenlabs returned HTTP 401: This request exceeds your quota"), "{message}");
            assert!(message.ends_with("(quota_exceeded)"), "{message}");
        }
        other => panic!("{other}"),
    }
}
