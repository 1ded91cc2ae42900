//! The ElevenLabs fake exercised through a real WebSocket client and HTTP.

use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{ElevenLabsFake, ElevenLabsScript, SpeechScript, StreamInputScript};
use crate::fakes::test_support::raw_request;

const KEY: &str = "xi-test-key";
const VOICE: &str = "21m00Tcm4TlvDq8ikWAM";
const QUERY: &str = "model_id=eleven_flash_v2_5&output_format=pcm_16000&sync_alignment=true";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(fake: &ElevenLabsFake, voice: &str, query: &str, key: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let url = format!("ws://{}/v1/text-to-speech/{voice}/stream-input?{query}", fake.addr());
    let mut request = url.into_client_request()?;
    if let Some(key) = key {
        let value = tungstenite::http::HeaderValue::from_str(key)
            .map_err(|error| tungstenite::Error::HttpFormat(error.into()))?;
        request.headers_mut().insert("xi-api-key", value);
    }
    tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
}

async fn send(ws: &mut Ws, message: Value) -> Result<()> {
    ws.send(Message::Text(message.to_string().into())).await?;
    Ok(())
}

/// Everything the server sends until it closes, and how it closed.
async fn read_until_close(ws: &mut Ws) -> Result<(Vec<Value>, Option<(u16, String)>)> {
    let mut messages = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .context("the server neither sent nor closed")?;
        match next {
            Some(Ok(Message::Text(text))) => messages.push(serde_json::from_str(text.as_str())?),
            Some(Ok(Message::Close(frame))) => {
                return Ok((messages, frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Ok((messages, None)),
        }
    }
}

/// The decoded audio and the aligned characters of audio messages.
fn audio_and_chars(messages: &[Value]) -> (Vec<u8>, String) {
    let (mut pcm, mut chars) = (Vec::new(), String::new());
    for message in messages {
        if let Some(audio) = message["audio"].as_str() {
            pcm.extend(STANDARD.decode(audio).unwrap());
            for c in message["alignment"]["chars"].as_array().unwrap() {
                chars.push_str(c.as_str().unwrap());
            }
        }
    }
    (pcm, chars)
}

#[tokio::test]
async fn a_socket_speaks_flushed_text_then_ends_with_is_final() -> Result<()> {
    let script = StreamInputScript::new();
    let fake = ElevenLabsScript::new().api_key(KEY).stream_input(script.clone()).start();
    let mut ws = connect(&fake, VOICE, QUERY, Some(KEY)).await?;
    send(&mut ws, json!({"text": " ", "voice_settings": {"stability": 0.5, "similarity_boost": 0.8}})).await?;
    send(&mut ws, json!({"text": "Hello "})).await?;
    send(&mut ws, json!({"text": "there. ", "flush": true})).await?;
    send(&mut ws, json!({"text": "Bye. "})).await?;
    send(&mut ws, json!({"text": ""})).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(close, Some((1000, String::new())));
    assert_eq!(
        messages.last(),
        Some(&json!({"audio": null, "isFinal": true, "normalizedAlignment": null, "alignment": null}))
    );
    let (pcm, chars) = audio_and_chars(&messages);
    let expected = [script.pcm_for("Hello there.", 16_000), script.pcm_for("Bye.", 16_000)].concat();
    assert!(pcm == expected, "the tone for each generation, in order");
    assert_eq!(chars, " Hello there. Bye.", "alignment covers the text spoken");
    assert!(messages[..messages.len() - 1].iter().all(|m| m["isFinal"].is_null()));
    let session = &fake.sessions()[0];
    assert_eq!(session.generations, ["Hello there.", "Bye."]);
    assert_eq!(session.flushes, 1);
    assert_eq!(session.voice_id, VOICE);
    assert_eq!(session.query_param("model_id"), Some("eleven_flash_v2_5"));
    assert_eq!(session.header_key.as_deref(), Some(KEY));
    assert_eq!(session.audio, pcm);
    Ok(())
}

#[tokio::test]
async fn the_schedule_starts_speaking_before_a_flush() -> Result<()> {
    let fake = ElevenLabsScript::new().start();
    let mut ws = connect(&fake, VOICE, QUERY, None).await?;
    send(&mut ws, json!({"text": " ", "generation_config": {"chunk_length_schedule": [50]}})).await?;
    send(&mut ws, json!({"text": "This sentence is comfortably longer than fifty characters, so it "})).await?;
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next()).await?.context("closed")??;
    let first: Value = serde_json::from_str(first.to_text()?)?;
    assert!(first["audio"].is_string(), "{first}");
    send(&mut ws, json!({"text": ""})).await?;
    read_until_close(&mut ws).await?;
    let session = &fake.sessions()[0];
    assert_eq!(session.generations, ["This sentence is comfortably longer than fifty characters, so it"]);
    Ok(())
}

#[tokio::test]
async fn keys_voices_and_models_are_checked_after_the_upgrade() -> Result<()> {
    let fake = ElevenLabsScript::new().api_key(KEY).start();
    let cases = [
        (VOICE, QUERY, Some("wrong"), json!({"text": " "}), "Invalid API key".to_string()),
        (VOICE, QUERY, None, json!({"text": " ", "xi_api_key": "wrong"}), "Invalid API key".to_string()),
        (
            VOICE,
            QUERY,
            None,
            json!({"text": " "}),
            "You must be authenticated to use this endpoint: provide xi-api-key.".to_string(),
        ),
        ("nope", QUERY, Some(KEY), json!({"text": " "}), "A voice with voice_id nope does not exist.".to_string()),
        (
            VOICE,
            "model_id=eleven_nonsense&output_format=pcm_16000",
            Some(KEY),
            json!({"text": " "}),
            "A model with model ID eleven_nonsense does not exist.".to_string(),
        ),
    ];
    for (voice, query, key, first, reason) in cases {
        let mut ws = connect(&fake, voice, query, key).await?;
        send(&mut ws, first).await?;
        let (messages, close) = read_until_close(&mut ws).await?;
        assert!(messages.is_empty());
        assert_eq!(close, Some((1008, reason)));
    }
    // The key in the first message is as good as the header.
    let mut ws = connect(&fake, VOICE, QUERY, None).await?;
    send(&mut ws, json!({"text": " ", "xi_api_key": KEY})).await?;
    send(&mut ws, json!({"text": "Hi. ", "flush": true})).await?;
    send(&mut ws, json!({"text": ""})).await?;
    assert_eq!(read_until_close(&mut ws).await?.1, Some((1000, String::new())));
    Ok(())
}

#[tokio::test]
async fn protocol_errors_quota_and_changed_voice_settings() -> Result<()> {
    let fake = ElevenLabsScript::new()
        .stream_input(StreamInputScript::new())
        .stream_input(StreamInputScript::new())
        .stream_input(StreamInputScript::quota_exceeded())
        .start();
    let mut ws = connect(&fake, VOICE, QUERY, None).await?;
    ws.send(Message::Text("not json".into())).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(messages[0]["error"], "invalid_input_message");
    assert_eq!(messages[0]["code"], 1008);
    assert_eq!(close.map(|c| c.0), Some(1008));

    let mut ws = connect(&fake, VOICE, QUERY, None).await?;
    send(&mut ws, json!({"text": " ", "voice_settings": {"stability": 0.5, "similarity_boost": 0.8}})).await?;
    send(&mut ws, json!({"text": "Hi ", "voice_settings": {"stability": 0.1, "similarity_boost": 0.8}})).await?;
    let (_, close) = read_until_close(&mut ws).await?;
    assert_eq!(
        close,
        Some((
            1008,
            "voice_settings field must be provided in the first message and then either be not provided or not change."
                .into()
        ))
    );

    let mut ws = connect(&fake, VOICE, QUERY, None).await?;
    send(&mut ws, json!({"text": " "})).await?;
    send(&mut ws, json!({"text": "Hi. ", "flush": true})).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(messages[0]["error"], "quota_exceeded");
    assert_eq!(close.map(|c| c.0), Some(1008));
    Ok(())
}

#[tokio::test]
async fn handshakes_check_the_query_and_scripted_rejections() -> Result<()> {
    let fake = ElevenLabsScript::new().stream_input(StreamInputScript::reject(429)).start();
    for query in
        ["model_id=eleven_flash_v2_5", "output_format=pcm_12345", "output_format=pcm_16000&inactivity_timeout=999"]
    {
        let Err(tungstenite::Error::Http(response)) = connect(&fake, VOICE, query, None).await else {
            panic!("{query} was accepted");
        };
        assert_eq!(response.status(), 400, "{query}");
    }
    let Err(tungstenite::Error::Http(response)) = connect(&fake, VOICE, QUERY, None).await else {
        panic!("the scripted rejection was accepted");
    };
    assert_eq!(response.status(), 429);
    let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default())?;
    assert_eq!(body["detail"]["status"], "too_many_concurrent_requests");
    Ok(())
}

#[tokio::test]
async fn an_idle_socket_is_closed_after_its_inactivity_timeout() -> Result<()> {
    let fake = ElevenLabsScript::new().start();
    let mut ws = connect(&fake, VOICE, &format!("{QUERY}&inactivity_timeout=1"), None).await?;
    send(&mut ws, json!({"text": " "})).await?;
    let (_, close) = read_until_close(&mut ws).await?;
    let (code, reason) = close.context("closed")?;
    assert_eq!(code, 1008);
    assert!(reason.starts_with("Have not received a new text input within the timeout of 1 seconds."), "{reason}");
    assert_eq!(reason.len(), 123, "cut to what a close frame holds: {reason}");
    Ok(())
}

#[tokio::test]
async fn http_streams_pcm_in_chunks() -> Result<()> {
    let script = SpeechScript::tone();
    let expected = script.pcm_for("Good evening.", 22_050);
    let fake = ElevenLabsScript::new().api_key(KEY).speech(script).start();
    let raw = raw_request(
        fake.addr(),
        "POST",
        &format!("/v1/text-to-speech/{VOICE}/stream?output_format=pcm_22050"),
        &[("xi-api-key", KEY), ("content-type", "application/json")],
        br#"{"text":"Good evening.","model_id":"eleven_flash_v2_5","voice_settings":{"stability":0.5,"similarity_boost":0.75}}"#,
    )
    .await?;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("transfer-encoding"), Some("chunked"));
    assert_eq!(raw.header("content-type"), Some("audio/pcm"));
    assert_eq!(raw.header("character-cost"), Some("13"));
    assert!(raw.chunks.len() > 1);
    assert!(raw.body() == expected);
    assert_eq!(fake.speech_requests()[0].json()?["model_id"], "eleven_flash_v2_5");
    Ok(())
}

#[tokio::test]
async fn http_errors_are_elevenlabs_shaped() -> Result<()> {
    let fake = ElevenLabsScript::new().api_key(KEY).speech(SpeechScript::quota_exceeded()).start();
    let client = crate::http_client();
    let url = |voice: &str, format: &str| {
        format!("{}/v1/text-to-speech/{voice}/stream?output_format={format}", fake.base_url())
    };
    let post = |url: String, key: Option<&str>, body: &str| {
        let mut request = client.post(url).header("content-type", "application/json").body(body.to_owned());
        if let Some(key) = key {
            request = request.header("xi-api-key", key);
        }
        request.send()
    };
    let check = |response: reqwest::Response, status: u16| async move {
        assert_eq!(response.status(), status);
        response.json::<Value>().await
    };
    let body = check(post(url(VOICE, "pcm_24000"), Some("wrong"), r#"{"text":"Hi"}"#).await?, 401).await?;
    assert_eq!(body, json!({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}));
    let body = check(post(url(VOICE, "pcm_24000"), None, r#"{"text":"Hi"}"#).await?, 401).await?;
    assert_eq!(body["detail"]["status"], "needs_authorization");
    let body = check(post(url("nope", "pcm_24000"), Some(KEY), r#"{"text":"Hi"}"#).await?, 404).await?;
    assert_eq!(body["detail"]["status"], "voice_not_found");
    let body =
        check(post(url(VOICE, "pcm_24000"), Some(KEY), r#"{"model_id":"eleven_flash_v2_5"}"#).await?, 422).await?;
    assert_eq!(body["detail"][0]["loc"], json!(["body", "text"]));
    assert_eq!(body["detail"][0]["msg"], "Field required");
    let settings = r#"{"text":"Hi","voice_settings":{"stability":3}}"#;
    check(post(url(VOICE, "pcm_24000"), Some(KEY), settings).await?, 422).await?;
    let model = r#"{"text":"Hi","model_id":"eleven_nonsense"}"#;
    let body = check(post(url(VOICE, "pcm_24000"), Some(KEY), model).await?, 400).await?;
    assert_eq!(body["detail"]["status"], "model_not_found");
    let body = check(post(url(VOICE, "mp3_44100_128"), Some(KEY), r#"{"text":"Hi"}"#).await?, 400).await?;
    assert_eq!(body["detail"]["status"], "invalid_output_format");
    let body = check(post(url(VOICE, "pcm_24000"), Some(KEY), r#"{"text":"Hi"}"#).await?, 401).await?;
    assert_eq!(body["detail"]["status"], "quota_exceeded");
    Ok(())
}
