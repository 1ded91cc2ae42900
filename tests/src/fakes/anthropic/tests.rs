//! The Anthropic fake exercised through a real HTTP client.

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{AnthropicFake, AnthropicScript, MESSAGES_PATH, MessageScript, start};
use crate::fakes::test_support::raw_request;

const KEY: &str = "sk-ant-test-0123456789";
const VERSION: &str = "2023-06-01";

fn request_body(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": stream,
    })
}

async fn post(fake: &AnthropicFake, body: &Value) -> Result<reqwest::Response> {
    Ok(crate::http_client()
        .post(format!("{}/v1/messages", fake.base_url()))
        .header("x-api-key", KEY)
        .header("anthropic-version", VERSION)
        .json(body)
        .send()
        .await?)
}

/// `(event name, parsed data)` of each SSE event, in order.
fn events(body: &str) -> Result<Vec<(String, Value)>> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let (name, data) = event.split_once('\n').context("one line per field")?;
            let name = name.strip_prefix("event: ").context("event line first")?;
            let data = data.strip_prefix("data: ").context("data line second")?;
            Ok((name.to_owned(), serde_json::from_str(data).with_context(|| format!("data {data}"))?))
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

#[tokio::test]
async fn the_key_is_checked_before_anything_else() -> Result<()> {
    let fake = start(AnthropicScript::new().api_key(KEY));
    let url = format!("{}/v1/messages", fake.base_url());
    let missing = crate::http_client().post(&url).body("not even json").send().await?;
    assert_eq!(missing.status(), 401);
    let request_id = missing.headers()["request-id"].to_str()?.to_owned();
    assert!(request_id.starts_with("req_011C") && request_id.len() == 28, "{request_id}");
    let body: Value = missing.json().await?;
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"},
               "request_id": request_id})
    );

    let wrong =
        crate::http_client().post(&url).header("x-api-key", "sk-ant-nope").json(&request_body(true)).send().await?;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await?["error"]["message"], "invalid x-api-key");

    let unversioned = crate::http_client().post(&url).header("x-api-key", KEY).json(&request_body(true)).send().await?;
    assert_eq!(unversioned.status(), 400);
    let body: Value = unversioned.json().await?;
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], "anthropic-version: header is required");
    assert_eq!(fake.message_requests().len(), 3, "refused requests are recorded too");
    Ok(())
}

#[tokio::test]
async fn a_text_reply_streams_event_by_event() -> Result<()> {
    let fake =
        start(AnthropicScript::new().api_key(KEY).message(MessageScript::text(["Hel", "lo."]).with_usage(12, 3)));
    let response = post(&fake, &request_body(true)).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    assert!(response.headers()["request-id"].to_str()?.starts_with("req_"));
    let events = events(&response.text().await?)?;
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_str(), "each event names its type twice");
    }
    let message = &events[0].1["message"];
    assert!(message["id"].as_str().is_some_and(|id| id.starts_with("msg_01") && id.len() == 28), "{message}");
    assert_eq!(
        (&message["type"], &message["role"], &message["model"], &message["content"]),
        (&json!("message"), &json!("assistant"), &json!("claude-sonnet-4-5"), &json!([]))
    );
    assert_eq!((&message["stop_reason"], &message["stop_sequence"]), (&Value::Null, &Value::Null));
    let usage = &message["usage"];
    assert_eq!((&usage["input_tokens"], &usage["output_tokens"]), (&json!(12), &json!(1)));
    assert_eq!((&usage["cache_creation_input_tokens"], &usage["cache_read_input_tokens"]), (&json!(0), &json!(0)));
    assert_eq!(
        events[1].1,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    );
    assert_eq!(
        events[3].1,
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}})
    );
    assert_eq!(events[4].1["delta"]["text"], "lo.");
    assert_eq!(events[5].1, json!({"type": "content_block_stop", "index": 0}));
    let delta = &events[6].1;
    assert_eq!(delta["delta"], json!({"stop_reason": "end_turn", "stop_sequence": null}));
    assert_eq!(delta["usage"]["output_tokens"], 3);

    let recorded = fake.message_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].header("x-api-key"), Some(KEY));
    assert_eq!(recorded[0].json()?["messages"][0]["content"], "Say hello.");
    Ok(())
}

#[tokio::test]
async fn each_event_is_one_compact_chunk_and_the_ping_is_spaced() -> Result<()> {
    let fake = start(MessageScript::text(["a", "b"]));
    let body = serde_json::to_vec(&request_body(true))?;
    let headers = [("content-type", "application/json"), ("anthropic-version", VERSION)];
    let raw = raw_request(fake.addr(), "POST", MESSAGES_PATH, &headers, &body).await?;
    assert_eq!((raw.status, raw.header("transfer-encoding")), (200, Some("chunked")));
    let chunks: Vec<String> = raw.chunks.iter().map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect();
    assert_eq!(chunks.len(), 8, "{chunks:?}");
    assert!(chunks.iter().all(|chunk| chunk.starts_with("event: ") && chunk.ends_with("\n\n")));
    assert_eq!(chunks[2], "event: ping\ndata: {\"type\": \"ping\"}\n\n");
    assert_eq!(
        chunks[3],
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n"
    );
    assert!(chunks[0].starts_with("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":"));
    assert_eq!(chunks[7], "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    Ok(())
}

#[tokio::test]
async fn a_tool_call_streams_its_input_as_partial_json() -> Result<()> {
    let script =
        MessageScript::text(["Let me look."]).tool_call("toolu_1", "lookup", r#"{"id": 4}"#).with_cache_read(7);
    let fake = start(script);
    let events = events(&post(&fake, &request_body(true)).await?.text().await?)?;
    let tool_start =
        events.iter().find(|(_, data)| data["content_block"]["type"] == "tool_use").context("tool block")?;
    assert_eq!(
        tool_start.1,
        json!({"type": "content_block_start", "index": 1,
               "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}})
    );
    let partials: Vec<&str> = events
        .iter()
        .filter(|(_, data)| data["index"] == 1 && data["delta"]["type"] == "input_json_delta")
        .filter_map(|(_, data)| data["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(partials.first(), Some(&""), "the API sends an empty piece first");
    assert!(partials.len() > 2);
    assert_eq!(partials.concat(), r#"{"id": 4}"#);
    let pings = events.iter().filter(|(name, _)| name == "ping").count();
    assert_eq!(pings, 1);
    let delta = events.iter().find(|(name, _)| name == "message_delta").context("message_delta")?;
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta.1["usage"]["cache_read_input_tokens"], 7);
    Ok(())
}

#[tokio::test]
async fn scripted_errors_carry_the_real_bodies_then_the_last_script_repeats() -> Result<()> {
    let fake = start(
        AnthropicScript::new()
            .message(MessageScript::error(529))
            .message(MessageScript::error(429).retry_after(2))
            .message(MessageScript::text(["ok"])),
    );
    let overloaded = post(&fake, &request_body(true)).await?;
    assert_eq!(overloaded.status(), 529);
    let request_id = overloaded.headers()["request-id"].to_str()?.to_owned();
    assert_eq!(
        overloaded.json::<Value>().await?,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": request_id})
    );
    let limited = post(&fake, &request_body(true)).await?;
    assert_eq!((limited.status().as_u16(), limited.headers()["retry-after"].to_str()?), (429, "2"));
    assert_eq!(limited.json::<Value>().await?["error"]["type"], "rate_limit_error");
    for _ in 0..2 {
        let ok = post(&fake, &request_body(true)).await?;
        assert_eq!(ok.status(), 200);
        assert!(ok.text().await?.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }
    let custom = start(MessageScript::status(403, "{\"oops\":1}").header("x-should-retry", "false"));
    let response = post(&custom, &request_body(true)).await?;
    assert_eq!((response.status().as_u16(), response.headers()["x-should-retry"].to_str()?), (403, "false"));
    assert_eq!(response.text().await?, "{\"oops\":1}", "an exact body is sent as given");
    Ok(())
}

#[tokio::test]
async fn an_overload_mid_stream_is_an_error_event_then_the_end() -> Result<()> {
    let fake = start(MessageScript::text(["Hel", "lo", "!"]).overloaded_after(1));
    let response = post(&fake, &request_body(true)).await?;
    assert_eq!(response.status(), 200);
    let events = events(&response.text().await?)?;
    assert_eq!(names(&events), ["message_start", "content_block_start", "ping", "content_block_delta", "error"]);
    assert_eq!(events[4].1, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    Ok(())
}

#[tokio::test]
async fn roles_merge_by_default_and_alternate_when_required() -> Result<()> {
    let doubled = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true, "messages": [
        {"role": "user", "content": "Hello."}, {"role": "user", "content": "Anyone there?"}]});
    let lenient = start(AnthropicScript::new());
    assert_eq!(post(&lenient, &doubled).await?.status(), 200);

    let strict = start(AnthropicScript::new().require_alternating_roles());
    let refused = post(&strict, &doubled).await?;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await?;
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row"
    );
    Ok(())
}

#[tokio::test]
async fn invalid_bodies_get_the_apis_400s() -> Result<()> {
    let fake = start(AnthropicScript::new());
    let without_max_tokens = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let response = post(&fake, &without_max_tokens).await?;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await?["error"]["message"], "max_tokens: Field required");
    let stray_result = json!({"model": "m", "max_tokens": 8, "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "4"}]}]});
    let message = post(&fake, &stray_result).await?.json::<Value>().await?["error"]["message"].clone();
    assert_eq!(
        message,
        "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. Each `tool_result` \
         block must have a corresponding `tool_use` block in the previous message."
    );
    let unknown = crate::http_client().post(format!("{}/v1/message", fake.base_url())).send().await?;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await?["error"]["type"], "not_found_error");
    Ok(())
}

#[tokio::test]
async fn non_streaming_requests_get_one_message_object() -> Result<()> {
    let script =
        MessageScript::text(["Hi", "!"]).tool_call("toolu_2", "lookup", r#"{"id": 4}"#).stop_reason("max_tokens");
    let fake = start(script.with_usage(20, 5));
    let response = post(&fake, &request_body(false)).await?;
    assert_eq!(response.headers()["content-type"], "application/json");
    let message: Value = response.json().await?;
    assert_eq!(message["type"], "message");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "Hi!"}, {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {"id": 4}}])
    );
    assert_eq!(message["stop_reason"], "max_tokens");
    assert_eq!((&message["usage"]["input_tokens"], &message["usage"]["output_tokens"]), (&json!(20), &json!(5)));
    Ok(())
}

#[tokio::test]
async fn hanging_streams_stop_after_the_content_until_the_fake_drops() -> Result<()> {
    let fake = start(MessageScript::text(["Hel"]).hang());
    let response = post(&fake, &request_body(true)).await?;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while let Ok(Some(Ok(bytes))) = tokio::time::timeout(Duration::from_millis(300), body.next()).await {
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("\"text\":\"Hel\"") && !seen.contains("message_delta"), "{seen}");
    drop(fake);
    let after_drop = tokio::time::timeout(Duration::from_secs(5), body.next()).await?;
    assert!(!matches!(after_drop, Some(Ok(_))), "the stream is cut, not completed");
    Ok(())
}
