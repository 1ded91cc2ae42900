//! The Deepgram fake exercised through a real WebSocket client and raw HTTP.

mod listen;
mod speak;

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::DeepgramFake;
use crate::audio::sine_s16le;

const KEY: &str = "dg-test-key";
const RATE: u32 = 16_000;
/// What the voiceblox adapter asks for, minus the model.
const QUERY: &str = "model=nova-3&encoding=linear16&sample_rate=16000&channels=1\
                     &interim_results=true&endpointing=300&vad_events=true\
                     &utterance_end_ms=1000&smart_format=true&punctuate=true";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(fake: &DeepgramFake, query: &str, key: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut request = format!("{}/v1/listen?{query}", fake.ws_base_url()).into_client_request()?;
    if let Some(key) = key {
        let value = tungstenite::http::HeaderValue::from_str(&format!("Token {key}"))
            .map_err(|error| tungstenite::Error::HttpFormat(error.into()))?;
        request.headers_mut().insert("authorization", value);
    }
    tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
}

/// The refused handshake's status and JSON body.
fn http_error(error: tungstenite::Error) -> Result<(u16, Value)> {
    let tungstenite::Error::Http(response) = error else {
        anyhow::bail!("expected an HTTP refusal, got {error}");
    };
    let body = response.body().clone().unwrap_or_default();
    Ok((response.status().as_u16(), serde_json::from_slice(&body)?))
}

/// The 20 ms frames of `ms` of tone, starting `from_ms` into the stream.
fn frames(from_ms: u64, ms: u64) -> Vec<Vec<u8>> {
    let all = sine_s16le(300.0, RATE, from_ms + ms);
    let start = (from_ms * u64::from(RATE) / 1000 * 2) as usize;
    all[start..].chunks(640).map(<[u8]>::to_vec).collect()
}

/// Sends audio frames, ignoring a socket the server already closed.
async fn send_audio(ws: &mut Ws, from_ms: u64, ms: u64) -> Vec<u8> {
    let mut sent = Vec::new();
    for frame in frames(from_ms, ms) {
        sent.extend_from_slice(&frame);
        if ws.send(Message::Binary(frame.into())).await.is_err() {
            break;
        }
    }
    sent
}

async fn send_json(ws: &mut Ws, text: &str) -> Result<()> {
    ws.send(Message::Text(text.into())).await?;
    Ok(())
}

/// Everything the server sends until it closes, and how it closed (`None`: no close frame).
async fn read_until_close(ws: &mut Ws) -> Result<(Vec<Value>, Option<(u16, String)>)> {
    let mut messages = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .context("the server neither sent nor closed")?;
        match next {
            Some(Ok(Message::Text(text))) => messages.push(serde_json::from_str(text.as_str())?),
            Some(Ok(Message::Close(frame))) => {
                let frame = frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()));
                return Ok((messages, frame));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Ok((messages, None)),
        }
    }
}

fn types(messages: &[Value]) -> Vec<&str> {
    messages.iter().filter_map(|m| m["type"].as_str()).collect()
}

fn transcript(message: &Value) -> &str {
    message["channel"]["alternatives"][0]["transcript"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn handshakes_check_the_key_and_the_query_first() -> Result<()> {
    let fake = super::start(super::DeepgramScript::new().api_key(KEY));
    let (status, body) = http_error(connect(&fake, QUERY, Some("wrong")).await.err().context("refused")?)?;
    assert_eq!(status, 401);
    assert_eq!(body["err_code"], "INVALID_AUTH");
    assert_eq!(body["err_msg"], "Invalid credentials.");
    assert!(body["request_id"].is_string());
    let (status, _) = http_error(connect(&fake, QUERY, None).await.err().context("refused")?)?;
    assert_eq!(status, 401);

    for query in [
        "sample_rate=16000",
        "encoding=linear16",
        "encoding=mulaw&sample_rate=8000",
        "encoding=linear16&sample_rate=16000&channels=2",
        "encoding=linear16&sample_rate=16000&utterance_end_ms=1000",
    ] {
        let refused = connect(&fake, query, Some(KEY)).await.err().context(query)?;
        let (status, body) = http_error(refused)?;
        assert_eq!(status, 400, "{query}");
        assert!(body["err_msg"].is_string(), "{query}");
    }
    assert!(fake.sessions().is_empty());
    assert_eq!(fake.requests_to(super::LISTEN_PATH).len(), 7);

    let mut ws = connect(&fake, QUERY, Some(KEY)).await?;
    send_json(&mut ws, r#"{"type":"CloseStream"}"#).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["Metadata"]);
    assert_eq!(close, Some((1000, String::new())));
    let session = &fake.sessions()[0];
    assert_eq!(session.query_param("model"), Some("nova-3"));
    assert_eq!(session.query_param("sample_rate"), Some("16000"));
    Ok(())
}

#[tokio::test]
async fn scripted_rejections_refuse_the_upgrade() -> Result<()> {
    let fake = super::start(
        super::DeepgramScript::new().listen(super::ListenScript::reject(429)).listen(super::ListenScript::new()),
    );
    let (status, body) = http_error(connect(&fake, QUERY, None).await.err().context("refused")?)?;
    assert_eq!((status, body["err_code"].as_str()), (429, Some("TOO_MANY_REQUESTS")));
    assert!(connect(&fake, QUERY, None).await.is_ok(), "the next script accepts");
    Ok(())
}
