//! The Gemini fake exercised through a real HTTP client.

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{GeminiFake, GeminiScript, GenerateScript, start};
use crate::fakes::test_support::raw_request;

const KEY: &str = "AIzaSy-test-0123456789";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

fn request_body() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 256},
    })
}

async fn post(fake: &GeminiFake, path: &str, body: &Value) -> Result<reqwest::Response> {
    Ok(crate::http_client()
        .post(format!("{}{path}", fake.base_url()))
        .header("x-goog-api-key", KEY)
        .json(body)
        .send()
        .await?)
}

/// The parsed data of each event; every event must be `data: <one line>\r\n\r\n`.
fn events(body: &str) -> Result<Vec<Value>> {
    let body = body.strip_suffix("\r\n\r\n").context("events end in CRLF CRLF")?;
    body.split("\r\n\r\n")
        .map(|event| {
            let data = event.strip_prefix("data: ").context("data lines only")?;
            anyhow::ensure!(!data.contains('\n'), "one line per document");
            Ok(serde_json::from_str(data)?)
        })
        .collect()
}

#[tokio::test]
async fn the_key_is_checked_first_in_the_header_or_the_query() -> Result<()> {
    let fake = start(GeminiScript::new().api_key(KEY));
    let url = format!("{}{STREAM}", fake.base_url());
    let missing = crate::http_client().post(&url).body("not even json").send().await?;
    assert_eq!(missing.status(), 403);
    assert_eq!(missing.headers()["content-type"], "application/json; charset=UTF-8");
    let body: Value = missing.json().await?;
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.starts_with("Method doesn't allow unregistered callers"))
    );

    let wrong =
        crate::http_client().post(&url).header("x-goog-api-key", "AIza-nope").json(&request_body()).send().await?;
    assert_eq!(wrong.status(), 400, "Google answers a wrong key with a 400");
    let body: Value = wrong.json().await?;
    assert_eq!(body["error"]["message"], "API key not valid. Please pass a valid API key.");
    assert_eq!(body["error"]["details"][0]["reason"], "API_KEY_INVALID");
    assert_eq!(body["error"]["details"][2]["detail"], "Invalid API key: AIza-nope", "Google echoes the key it got");

    let by_query = crate::http_client().post(format!("{url}&key={KEY}")).json(&request_body()).send().await?;
    assert_eq!(by_query.status(), 200);
    assert_eq!(fake.generate_requests().len(), 3, "refused requests are recorded too");
    Ok(())
}

#[tokio::test]
async fn a_text_reply_streams_chunk_by_chunk_with_usage_on_every_chunk() -> Result<()> {
    let fake = start(
        GeminiScript::new()
            .api_key(KEY)
            .generate(GenerateScript::text(["Hel", "lo."]).with_usage(12, 3).with_cached(4)),
    );
    let response = post(&fake, STREAM, &request_body()).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = events(&response.text().await?)?;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["candidates"][0]["content"], json!({"parts": [{"text": "Hel"}], "role": "model"}));
    assert!(events[0]["candidates"][0].get("finishReason").is_none());
    assert_eq!(events[0]["usageMetadata"]["promptTokenCount"], 12);
    assert!(
        events[0]["usageMetadata"].get("candidatesTokenCount").is_none(),
        "only the last chunk has the answer's count"
    );
    assert_eq!(events[1]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(events[1]["candidates"][0]["index"], 0);
    let usage = &events[1]["usageMetadata"];
    assert_eq!(
        (&usage["candidatesTokenCount"], &usage["totalTokenCount"], &usage["cachedContentTokenCount"]),
        (&json!(3), &json!(15), &json!(4))
    );
    assert_eq!(events[1]["modelVersion"], "gemini-2.5-flash");
    assert_eq!(events[0]["responseId"], events[1]["responseId"], "one response, one id");
    assert_eq!(fake.generate_requests()[0].header("x-goog-api-key"), Some(KEY));
    Ok(())
}

#[tokio::test]
async fn each_chunk_is_one_google_formatted_line() -> Result<()> {
    let fake = start(GenerateScript::text(["a", "b"]));
    let body = serde_json::to_vec(&request_body())?;
    let raw = raw_request(fake.addr(), "POST", STREAM, &[("content-type", "application/json")], &body).await?;
    assert_eq!((raw.status, raw.header("transfer-encoding")), (200, Some("chunked")));
    let chunks: Vec<String> = raw.chunks.iter().map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect();
    assert_eq!(chunks.len(), 2, "{chunks:?}");
    assert!(
        chunks[0].starts_with(r#"data: {"candidates": [{"content": {"parts": [{"text": "a"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": "#),
        "{}",
        chunks[0]
    );
    assert!(chunks.iter().all(|chunk| chunk.ends_with("\r\n\r\n")));
    Ok(())
}

#[tokio::test]
async fn function_calls_come_whole_in_the_last_chunk() -> Result<()> {
    let script = GenerateScript::text(["Let me look."])
        .signed_function_call("lookup", r#"{"id": 4}"#, "CiQB0e2K")
        .function_call("time", "")
        .call_id("fc_2")
        .with_thoughts(21);
    let fake = start(script);
    let events = events(&post(&fake, STREAM, &request_body()).await?.text().await?)?;
    assert_eq!(events.len(), 2);
    assert!(events[0]["candidates"][0].get("finishReason").is_none());
    let last = &events[1]["candidates"][0];
    assert_eq!(
        last["content"]["parts"],
        json!([{"functionCall": {"name": "lookup", "args": {"id": 4}}, "thoughtSignature": "CiQB0e2K"},
               {"functionCall": {"id": "fc_2", "name": "time"}}])
    );
    assert_eq!(last["finishReason"], "STOP", "Gemini has no tool-specific finish reason");
    assert_eq!(events[1]["usageMetadata"]["thoughtsTokenCount"], 21);
    Ok(())
}

#[tokio::test]
async fn scripted_errors_carry_googles_bodies_then_the_last_script_repeats() -> Result<()> {
    let fake = start(
        GeminiScript::new()
            .generate(GenerateScript::error(503))
            .generate(GenerateScript::rate_limited(2))
            .generate(GenerateScript::text(["ok"])),
    );
    let overloaded = post(&fake, STREAM, &request_body()).await?;
    assert_eq!(overloaded.status(), 503);
    assert_eq!(overloaded.headers()["content-type"], "application/json; charset=UTF-8");
    let text = overloaded.text().await?;
    assert!(text.starts_with("{\n  \"error\": {\n    \"code\": 503,"), "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text)?["error"]["status"], "UNAVAILABLE");
    let limited = post(&fake, STREAM, &request_body()).await?;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_none(), "Google says when in the body only");
    let body: Value = limited.json().await?;
    assert_eq!(
        body["error"]["details"][2],
        json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"})
    );
    for _ in 0..2 {
        let ok = post(&fake, STREAM, &request_body()).await?;
        assert_eq!(ok.status(), 200);
        assert!(ok.text().await?.contains("\"finishReason\": \"STOP\""));
    }
    Ok(())
}

#[tokio::test]
async fn blocked_prompts_errors_mid_stream_and_other_forms() -> Result<()> {
    let fake = start(
        GeminiScript::new()
            .generate(GenerateScript::blocked("SAFETY"))
            .generate(GenerateScript::text(["Hel", "lo", "!"]).error_after(1, 503))
            .generate(GenerateScript::text(["Hi", "!"])),
    );
    let blocked = events(&post(&fake, STREAM, &request_body()).await?.text().await?)?;
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["promptFeedback"], json!({"blockReason": "SAFETY"}));
    assert!(blocked[0].get("candidates").is_none());
    let failed = events(&post(&fake, STREAM, &request_body()).await?.text().await?)?;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[1]["error"]["code"], 503);
    // Without alt=sse: one JSON array; :generateContent: one response with all the text.
    let array: Value =
        post(&fake, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", &request_body()).await?.json().await?;
    assert_eq!(array.as_array().map(Vec::len), Some(2));
    let whole: Value =
        post(&fake, "/v1beta/models/gemini-2.5-flash:generateContent", &request_body()).await?.json().await?;
    assert_eq!(whole["candidates"][0]["content"]["parts"], json!([{"text": "Hi!"}]));
    Ok(())
}

#[tokio::test]
async fn bad_requests_get_the_apis_400s_and_404s() -> Result<()> {
    let fake = start(GeminiScript::new());
    let schema = json!({
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "tools": [{"functionDeclarations": [{"name": "f", "parameters":
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}}]}],
    });
    let response = post(&fake, STREAM, &schema).await?;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await?;
    assert_eq!(
        body["error"]["message"],
        "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters': Cannot find field."
    );
    assert_eq!(
        body["error"]["details"][0]["fieldViolations"][0]["field"],
        "tools[0].function_declarations[0].parameters"
    );
    let model = post(&fake, "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", &request_body()).await?;
    assert_eq!(model.status(), 404);
    assert!(
        model.json::<Value>().await?["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("models/gpt-4o is not found for API version v1beta"))
    );
    let path = post(&fake, "/v1/chat/completions", &request_body()).await?;
    assert_eq!(path.status(), 404);
    assert!(path.text().await?.contains("Error 404 (Not Found)"));
    Ok(())
}

#[tokio::test]
async fn hanging_streams_stop_before_the_finish_until_the_fake_drops() -> Result<()> {
    let fake = start(GenerateScript::text(["Hel", "lo"]).hang());
    let response = post(&fake, STREAM, &request_body()).await?;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while let Ok(Some(Ok(bytes))) = tokio::time::timeout(Duration::from_millis(300), body.next()).await {
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("\"text\": \"Hel\"") && !seen.contains("finishReason"), "{seen}");
    drop(fake);
    let after_drop = tokio::time::timeout(Duration::from_secs(5), body.next()).await?;
    assert!(!matches!(after_drop, Some(Ok(_))), "the stream is cut, not completed");
    Ok(())
}
