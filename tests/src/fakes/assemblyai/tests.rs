//! The AssemblyAI fake exercised through a real WebSocket client.

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{AssemblyAiFake, AssemblyAiScript, Formatting, INVALID_KEY_REASON, MISSING_KEY_REASON, StreamScript};
use crate::audio::sine_s16le;

const KEY: &str = "aai-test-key";
const RATE: u32 = 16_000;
/// What the voiceblox adapter asks for.
const QUERY: &str = "speech_model=universal-streaming-english&sample_rate=16000&encoding=pcm_s16le\
                     &format_turns=true&min_turn_silence=300";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(fake: &AssemblyAiFake, query: &str, key: Option<&str>) -> Result<Ws> {
    let mut request = format!("{}/v3/ws?{query}", fake.ws_base_url()).into_client_request()?;
    if let Some(key) = key {
        request.headers_mut().insert("authorization", tungstenite::http::HeaderValue::from_str(key)?);
    }
    Ok(tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)?)
}

/// Sends `ms` of tone in 50 ms messages; returns the bytes sent.
async fn send_audio(ws: &mut Ws, ms: u64) -> Vec<u8> {
    let audio = sine_s16le(300.0, RATE, ms);
    for chunk in audio.chunks(1_600) {
        ws.send(Message::Binary(chunk.to_vec().into())).await.unwrap();
    }
    audio
}

async fn send_json(ws: &mut Ws, text: &str) -> Result<()> {
    Ok(ws.send(Message::Text(text.into())).await?)
}

/// Every JSON message until the server closes, and its close frame.
async fn read_until_close(ws: &mut Ws) -> Result<(Vec<Value>, Option<(u16, String)>)> {
    let mut messages = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.context("no close")?;
        match message {
            Some(Ok(Message::Text(text))) => messages.push(serde_json::from_str(text.as_str())?),
            Some(Ok(Message::Close(frame))) => {
                return Ok((messages, frame.map(|f| (u16::from(f.code), f.reason.to_string()))));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Ok((messages, None)),
        }
    }
}

fn types(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["type"].as_str().unwrap_or_default()).collect()
}

#[tokio::test]
async fn an_utterance_streams_turn_updates_then_one_formatted_end_of_turn() -> Result<()> {
    let fake = AssemblyAiScript::new().api_key(KEY).stream(StreamScript::transcript("Hello there, friend.")).start();
    let mut ws = connect(&fake, QUERY, Some(KEY)).await?;
    let audio = send_audio(&mut ws, 2_000).await;
    send_json(&mut ws, r#"{"type":"Terminate"}"#).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["Begin", "SpeechStarted", "Turn", "Turn", "Turn", "Turn", "Termination"]);
    assert_eq!(close, Some((1000, String::new())));
    assert!(messages[0]["id"].is_string() && messages[0]["expires_at"].is_u64());
    assert_eq!(messages[1], json!({"type": "SpeechStarted", "timestamp": 300}));
    assert_eq!(messages[3]["transcript"], "Hello", "only final words are in the transcript");
    assert_eq!(
        messages[3]["words"][1],
        json!({"start": 550, "end": 800, "text": "there,", "confidence": 0.96, "word_is_final": false})
    );
    let end = &messages[5];
    assert_eq!((&end["end_of_turn"], &end["turn_is_formatted"]), (&json!(true), &json!(true)));
    assert_eq!(end["transcript"], "Hello there, friend.");
    assert_eq!(end["turn_order"], 0);
    assert_eq!(
        (&messages[6]["audio_duration_seconds"], messages[6]["session_duration_seconds"].is_u64()),
        (&json!(2), true)
    );

    let session = &fake.sessions()[0];
    assert_eq!(session.audio, audio);
    assert!(session.chunk_ms.iter().all(|ms| *ms == 50.0));
    assert_eq!((session.terminates, session.force_endpoints), (1, 0));
    assert_eq!(session.turn_ends(), ["Hello there, friend."]);
    assert_eq!(session.server_close, Some((1000, String::new())));
    Ok(())
}

#[tokio::test]
async fn older_servers_send_the_unformatted_end_then_a_formatted_copy() -> Result<()> {
    let script = StreamScript::transcript("Book a table.").formatting(Formatting::TrailingCopy);
    let fake = AssemblyAiScript::from(script).start();
    let mut ws = connect(&fake, QUERY, None).await?;
    send_audio(&mut ws, 1_500).await;
    send_json(&mut ws, r#"{"type":"Terminate"}"#).await?;
    let (messages, _) = read_until_close(&mut ws).await?;
    let turns: Vec<(bool, bool, &str)> = messages
        .iter()
        .filter(|m| m["type"] == "Turn")
        .map(|m| {
            let flag = |k: &str| m[k].as_bool().unwrap_or_default();
            (flag("end_of_turn"), flag("turn_is_formatted"), m["transcript"].as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        turns,
        [
            (false, false, ""),
            (false, false, "book"),
            (false, false, "book a"),
            (true, false, "book a table"),
            (true, true, "Book a table.")
        ]
    );
    Ok(())
}

#[tokio::test]
async fn force_endpoint_ends_the_turn_at_once() -> Result<()> {
    let fake = AssemblyAiFake::start(StreamScript::transcript("one two three four"));
    let mut ws = connect(&fake, QUERY, None).await?;
    send_audio(&mut ws, 800).await;
    send_json(&mut ws, r#"{"type":"ForceEndpoint"}"#).await?;
    send_json(&mut ws, r#"{"type":"Terminate"}"#).await?;
    let (messages, _) = read_until_close(&mut ws).await?;
    let ends: Vec<&Value> = messages.iter().filter(|m| m["end_of_turn"] == true).collect();
    assert_eq!(ends.len(), 1, "{messages:?}");
    assert_eq!(ends[0]["transcript"], "one two", "words heard by 800 ms");
    assert_eq!(fake.sessions()[0].force_endpoints, 1);
    Ok(())
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_closed_with_1008_after_the_upgrade() -> Result<()> {
    let fake = AssemblyAiScript::new().api_key(KEY).start();
    for (key, reason) in [(Some("not-the-key"), INVALID_KEY_REASON), (None, MISSING_KEY_REASON)] {
        let mut ws = connect(&fake, QUERY, key).await?;
        let (messages, close) = read_until_close(&mut ws).await?;
        assert!(messages.is_empty(), "no Begin: {messages:?}");
        assert_eq!(close, Some((1008, reason.to_string())));
    }
    Ok(())
}

#[tokio::test]
async fn audio_outside_fifty_to_a_thousand_ms_per_message_is_refused() -> Result<()> {
    let fake = AssemblyAiFake::start(StreamScript::new());
    let mut ws = connect(&fake, QUERY, None).await?;
    ws.send(Message::Binary(vec![0u8; 640].into())).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["Begin"]);
    assert_eq!(close, Some((3007, "Input duration violation: 20 ms. Expected between 50 and 1000 ms".into())));
    Ok(())
}

#[tokio::test]
async fn unknown_messages_and_bad_queries_close_with_3006() -> Result<()> {
    let fake = AssemblyAiFake::start(StreamScript::new());
    let mut ws = connect(&fake, QUERY, None).await?;
    send_json(&mut ws, r#"{"type":"Finalize"}"#).await?;
    let (_, close) = read_until_close(&mut ws).await?;
    assert_eq!(close, Some((3006, "Invalid Message Type: Finalize".into())));

    let mut ws = connect(&fake, "sample_rate=16000", None).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert!(messages.is_empty());
    assert_eq!(close, Some((3006, "Invalid Query Parameter: speech_model is required".into())));
    Ok(())
}

#[tokio::test]
async fn scripted_faults_and_inactivity() -> Result<()> {
    let fake = AssemblyAiScript::new()
        .stream(StreamScript::new().close_at(100, 3009, "Unauthorized Connection: Too many concurrent sessions"))
        .stream(StreamScript::new())
        .start();
    let mut ws = connect(&fake, QUERY, None).await?;
    send_audio(&mut ws, 200).await;
    let (_, close) = read_until_close(&mut ws).await?;
    assert_eq!(close, Some((3009, "Unauthorized Connection: Too many concurrent sessions".into())));

    let mut ws = connect(&fake, &format!("{QUERY}&inactivity_timeout=5"), None).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["Begin"]);
    assert_eq!(close, Some((4031, "Session idle for too long".into())));
    Ok(())
}
