//! The Cartesia fake exercised through a real WebSocket client and HTTP.

use std::time::Duration;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{BytesScript, CartesiaFake, CartesiaScript, SocketScript};
use crate::fakes::test_support::raw_request;

const KEY: &str = "sk_car_test";
const VOICE: &str = "f786b574-daa5-4673-aa0c-cbe3e8534c02";
const VERSION: &str = "2025-04-16";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(fake: &CartesiaFake, query: &str, key: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let url = format!("ws://{}/tts/websocket?{query}", fake.addr());
    let mut request = url.into_client_request()?;
    if let Some(key) = key {
        let value = tungstenite::http::HeaderValue::from_str(key)
            .map_err(|error| tungstenite::Error::HttpFormat(error.into()))?;
        request.headers_mut().insert("x-api-key", value);
    }
    tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
}

/// A generation request on `context` at 16 kHz.
fn generation(context: &str, transcript: &str, continues: bool) -> Value {
    json!({
        "model_id": "sonic-3",
        "transcript": transcript,
        "voice": {"mode": "id", "id": VOICE},
        "language": "en",
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
        "context_id": context,
        "continue": continues,
    })
}

fn flush(context: &str) -> Value {
    let mut request = generation(context, "", true);
    request["flush"] = json!(true);
    request
}

async fn send(ws: &mut Ws, message: Value) -> Result<()> {
    ws.send(Message::Text(message.to_string().into())).await?;
    Ok(())
}

/// Messages until (and including) the first one `last` accepts.
async fn read_until(ws: &mut Ws, last: impl Fn(&Value) -> bool) -> Result<Vec<Value>> {
    let mut messages = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .context("the server sent nothing")?
            .context("the server closed")??;
        if let Message::Text(text) = next {
            let message: Value = serde_json::from_str(text.as_str())?;
            let stop = last(&message);
            messages.push(message);
            if stop {
                return Ok(messages);
            }
        }
    }
}

fn of_type(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |message| message["type"] == kind
}

fn audio(messages: &[Value]) -> Vec<u8> {
    messages
        .iter()
        .filter(|m| m["type"] == "chunk")
        .flat_map(|m| STANDARD.decode(m["data"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_context_speaks_each_flush_group_then_ends_with_done() -> Result<()> {
    let script = SocketScript::new();
    let fake = CartesiaScript::new().api_key(KEY).socket(script.clone()).start();
    let mut ws = connect(&fake, &format!("cartesia_version={VERSION}"), Some(KEY)).await?;
    send(&mut ws, generation("c1", "Hello ", true)).await?;
    send(&mut ws, generation("c1", "there.", true)).await?;
    send(&mut ws, flush("c1")).await?;
    let first = read_until(&mut ws, of_type("flush_done")).await?;
    assert_eq!(audio(&first), script.pcm_for("Hello there.", 16_000), "continuations are joined verbatim");
    assert!(
        first[..first.len() - 1].iter().all(|m| m["type"] == "chunk" && m["flush_id"] == 1 && m["context_id"] == "c1")
    );
    assert_eq!(first.last().unwrap()["flush_id"], 1);
    assert_eq!(first.last().unwrap()["flush_done"], true);

    send(&mut ws, generation("c1", "Bye.", true)).await?;
    send(&mut ws, generation("c1", "", false)).await?;
    let rest = read_until(&mut ws, of_type("done")).await?;
    assert_eq!(audio(&rest), script.pcm_for("Bye.", 16_000));
    assert!(rest.iter().filter(|m| m["type"] == "chunk").all(|m| m["flush_id"] == 2));
    assert_eq!(rest.last(), Some(&json!({"type": "done", "done": true, "status_code": 200, "context_id": "c1"})));

    // A closed context takes no more input.
    send(&mut ws, generation("c1", "More.", true)).await?;
    let error = read_until(&mut ws, of_type("error")).await?;
    assert_eq!(error[0]["status_code"], 400);
    assert_eq!(error[0]["context_id"], "c1");

    let session = &fake.sessions()[0];
    assert_eq!(session.spoken(), ["Hello there.", "Bye."]);
    assert_eq!(session.generations[1], ("c1".to_owned(), 2, "Bye.".to_owned()));
    assert_eq!(session.flushes, 1);
    assert_eq!(session.done, ["c1"]);
    assert_eq!(session.header_key.as_deref(), Some(KEY));
    assert_eq!(session.version, VERSION);
    assert_eq!(session.audio, [audio(&first), audio(&rest)].concat());
    Ok(())
}

#[tokio::test]
async fn buffered_text_is_spoken_after_the_buffer_delay() -> Result<()> {
    let fake = CartesiaScript::new().start();
    let mut ws = connect(&fake, &format!("cartesia_version={VERSION}"), None).await?;
    let mut request = generation("c", "Without a flush.", true);
    request["max_buffer_delay_ms"] = json!(100);
    send(&mut ws, request).await?;
    let started = std::time::Instant::now();
    let first = read_until(&mut ws, of_type("chunk")).await?;
    assert!(started.elapsed() >= Duration::from_millis(90), "spoken only after the delay");
    assert_eq!(first[0]["flush_id"], 1);
    // With no delay every input is spoken at once.
    let mut request = generation("d", "At once.", true);
    request["max_buffer_delay_ms"] = json!(0);
    send(&mut ws, request).await?;
    read_until(&mut ws, |m| m["type"] == "chunk" && m["context_id"] == "d").await?;
    assert_eq!(fake.sessions()[0].spoken(), ["Without a flush.", "At once."]);
    Ok(())
}

#[tokio::test]
async fn handshakes_check_key_and_version() -> Result<()> {
    let fake = CartesiaScript::new().api_key(KEY).socket(SocketScript::new()).start();
    let cases = [
        (format!("cartesia_version={VERSION}"), Some("wrong"), 401, "invalid_api_key"),
        (format!("cartesia_version={VERSION}"), None, 401, "missing_api_key"),
        (String::new(), Some(KEY), 400, "missing_version"),
        ("cartesia_version=1999-01-01".to_owned(), Some(KEY), 400, "invalid_version"),
    ];
    for (query, key, status, code) in cases {
        let Err(tungstenite::Error::Http(response)) = connect(&fake, &query, key).await else {
            panic!("{query} with {key:?} was accepted");
        };
        assert_eq!(response.status(), status, "{query}");
        let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default())?;
        assert_eq!(body["error_code"], code);
        assert!(!body.to_string().contains("wrong"), "the presented key is never echoed");
    }
    // The key and version may both travel in the query.
    connect(&fake, &format!("api_key={KEY}&cartesia_version={VERSION}"), None).await?;
    assert_eq!(fake.sessions().len(), 1);

    let fake = CartesiaScript::new().socket(SocketScript::reject(429)).start();
    let Err(tungstenite::Error::Http(response)) = connect(&fake, &format!("cartesia_version={VERSION}"), None).await
    else {
        panic!("the scripted rejection was accepted");
    };
    assert_eq!(response.status(), 429);
    Ok(())
}

#[tokio::test]
async fn bad_inputs_are_answered_with_error_messages() -> Result<()> {
    let fake = CartesiaScript::new().socket(SocketScript::new()).socket(SocketScript::out_of_credits()).start();
    let mut ws = connect(&fake, &format!("cartesia_version={VERSION}"), None).await?;
    let mut voice = generation("a", "Hi.", false);
    voice["voice"]["id"] = json!("nope");
    let mut model = generation("b", "Hi.", false);
    model["model_id"] = json!("sonic-99");
    let mut format = generation("c", "Hi.", false);
    format["output_format"]["encoding"] = json!("pcm_f32le");
    for (request, code) in [(voice, "voice_not_found"), (model, "model_not_found"), (format, "invalid_request")] {
        send(&mut ws, request).await?;
        let error = read_until(&mut ws, of_type("error")).await?;
        assert_eq!(error.len(), 1);
        assert_eq!(error[0]["status_code"], 400);
        assert_eq!(error[0]["error_code"], code);
        assert_eq!(error[0]["done"], true);
    }
    // A changed field within a context is refused.
    send(&mut ws, generation("e", "One ", true)).await?;
    let mut changed = generation("e", "two.", true);
    changed["language"] = json!("de");
    send(&mut ws, changed).await?;
    let error = read_until(&mut ws, of_type("error")).await?;
    assert!(error[0]["message"].as_str().unwrap().starts_with("Inputs on the same context must keep"));
    ws.send(Message::Text("not json".into())).await?;
    assert_eq!(read_until(&mut ws, of_type("error")).await?[0]["status_code"], 400);

    let mut ws = connect(&fake, &format!("cartesia_version={VERSION}"), None).await?;
    send(&mut ws, generation("c", "Hi.", false)).await?;
    let error = read_until(&mut ws, of_type("error")).await?;
    assert_eq!(error[0]["status_code"], 402);
    assert_eq!(error[0]["error_code"], "insufficient_credits");
    Ok(())
}

#[tokio::test]
async fn bytes_streams_pcm_in_chunks() -> Result<()> {
    let script = BytesScript::tone();
    let expected = script.pcm_for("Good evening.", 22_050);
    let fake = CartesiaScript::new().api_key(KEY).bytes(script).start();
    let body = json!({
        "model_id": "sonic-3", "transcript": "Good evening.", "voice": {"mode": "id", "id": VOICE},
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 22050},
    });
    let raw = raw_request(
        fake.addr(),
        "POST",
        "/tts/bytes",
        &[("x-api-key", KEY), ("cartesia-version", VERSION), ("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await?;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("transfer-encoding"), Some("chunked"));
    assert!(raw.chunks.len() > 1);
    assert!(raw.body() == expected);
    assert_eq!(fake.bytes_requests()[0].json()?["transcript"], "Good evening.");
    Ok(())
}

#[tokio::test]
async fn bytes_errors_are_cartesia_shaped() -> Result<()> {
    let fake = CartesiaScript::new().api_key(KEY).bytes(BytesScript::error(429).retry_after(2)).start();
    let client = crate::http_client();
    let url = format!("{}/tts/bytes", fake.base_url());
    let body = |voice: &str, model: &str, transcript: &str| {
        json!({
            "model_id": model, "transcript": transcript, "voice": {"mode": "id", "id": voice},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000},
        })
    };
    let post = |key: Option<&str>, version: Option<&str>, body: Value| {
        let mut request = client.post(url.clone()).json(&body);
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        if let Some(version) = version {
            request = request.header("Cartesia-Version", version);
        }
        request.send()
    };
    let cases = [
        (Some("wrong"), Some(VERSION), body(VOICE, "sonic-3", "Hi"), 401, "invalid_api_key"),
        (None, Some(VERSION), body(VOICE, "sonic-3", "Hi"), 401, "missing_api_key"),
        (Some(KEY), None, body(VOICE, "sonic-3", "Hi"), 400, "missing_version"),
        (Some(KEY), Some(VERSION), body("nope", "sonic-3", "Hi"), 400, "voice_not_found"),
        (Some(KEY), Some(VERSION), body(VOICE, "sonic-99", "Hi"), 400, "model_not_found"),
        (Some(KEY), Some(VERSION), body(VOICE, "sonic-3", " "), 400, "invalid_request"),
    ];
    for (key, version, body, status, code) in cases {
        let response = post(key, version, body).await?;
        assert_eq!(response.status(), status, "{code}");
        assert_eq!(response.json::<Value>().await?["error_code"], code);
    }
    let response = post(Some(KEY), Some(VERSION), body(VOICE, "sonic-3", "Hi")).await?;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.json::<Value>().await?["error_code"], "concurrency_limit_exceeded");
    Ok(())
}
