//! The OpenAI fake exercised through real HTTP clients.

mod chat;
mod speech;
mod transcription;

use anyhow::{Context, Result};
use serde_json::{Value, json};

const KEY: &str = "sk-test-0123456789";

fn client() -> reqwest::Client {
    crate::http_client()
}

/// The `data:` payloads of an SSE body, in order.
fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .filter_map(|event| event.strip_prefix("data: ").map(str::to_owned))
        .collect()
}

fn parse_all(events: &[String]) -> Result<Vec<Value>> {
    events
        .iter()
        .filter(|event| *event != "[DONE]")
        .map(|event| serde_json::from_str(event).with_context(|| format!("event {event}")))
        .collect()
}

fn chat_body(stream: bool, include_usage: bool) -> Value {
    let mut body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": stream,
    });
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[tokio::test]
async fn unknown_paths_get_openais_invalid_url_error() -> Result<()> {
    let fake = super::start(super::OpenAiScript::new());
    let response = client().post(format!("{}/chat/completion", fake.base_url())).send().await?;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["message"], "Invalid URL (POST /v1/chat/completion)");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    Ok(())
}
