use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{KEY, chat_body, client, parse_all, sse_data};
use crate::fakes::openai::{self, CHAT_PATH, ChatScript, OpenAiScript};
use crate::fakes::test_support::raw_request;

async fn post_chat(fake: &openai::OpenAiFake, body: &Value) -> Result<reqwest::Response> {
    Ok(client().post(format!("{}/chat/completions", fake.base_url())).bearer_auth(KEY).json(body).send().await?)
}

#[tokio::test]
async fn text_streams_as_sse_chunks_with_a_final_usage_chunk() -> Result<()> {
    let script = ChatScript::text(["Hel", "lo", " there."]).with_usage(12, 3);
    let fake = openai::start(OpenAiScript::new().api_key(KEY).chat(script));
    let response = post_chat(&fake, &chat_body(true, true)).await?;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str()?.to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert!(response.headers().contains_key("x-request-id"));

    let events = sse_data(&response.text().await?);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = parse_all(&events)?;
    assert_eq!(chunks.len(), 6, "role, 3 pieces, finish, usage");
    for chunk in &chunks {
        assert_eq!(chunk["id"], chunks[0]["id"]);
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "gpt-4o-mini");
        assert!(chunk["created"].is_u64() && chunk["system_fingerprint"].is_string());
    }
    assert!(chunks[0]["id"].as_str().is_some_and(|id| id.starts_with("chatcmpl-")));
    assert_eq!(
        chunks[0]["choices"][0],
        json!({"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null},
               "logprobs": null, "finish_reason": null})
    );
    let text: String = chunks[1..4].iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Hello there.");
    assert_eq!(chunks[4]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    // Every chunk but the last carries `"usage": null`; the last has no choices.
    assert!(chunks[..5].iter().all(|c| c.get("usage") == Some(&Value::Null)));
    assert_eq!(chunks[5]["choices"], json!([]));
    let usage = &chunks[5]["usage"];
    assert_eq!(
        (&usage["prompt_tokens"], &usage["completion_tokens"], &usage["total_tokens"]),
        (&json!(12), &json!(3), &json!(15))
    );
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 0);

    let recorded = fake.chat_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(recorded[0].json()?["messages"][0]["content"], "Say hello.");
    Ok(())
}

#[tokio::test]
async fn each_event_is_one_http_chunk_and_no_usage_without_include_usage() -> Result<()> {
    let fake = openai::start(ChatScript::text(["a", "b"]));
    let body = serde_json::to_vec(&chat_body(true, false))?;
    let raw = raw_request(fake.addr(), "POST", CHAT_PATH, &[("content-type", "application/json")], &body).await?;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("transfer-encoding"), Some("chunked"));
    let chunks: Vec<String> = raw.chunks.iter().map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect();
    assert_eq!(chunks.len(), 5, "role, a, b, finish, [DONE]: {chunks:?}");
    assert!(chunks.iter().all(|c| c.starts_with("data: ") && c.ends_with("\n\n")));
    assert_eq!(chunks[4], "data: [DONE]\n\n");
    assert!(chunks.iter().all(|c| !c.contains("\"usage\"")));
    // Chunk keys come in OpenAI's order.
    assert!(chunks[1].starts_with("data: {\"id\":\"chatcmpl-"));
    assert!(chunks[1].contains("\"object\":\"chat.completion.chunk\",\"created\":"));
    assert!(chunks[1].contains(
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"logprobs\":null,\"finish_reason\":null}]"
    ));
    Ok(())
}

#[tokio::test]
async fn tool_call_arguments_stream_in_pieces_after_an_opening_delta() -> Result<()> {
    let script = ChatScript::new().tool_call("call_1", "get_weather", r#"{"city":"Paris"}"#).tool_call(
        "call_2",
        "get_time",
        r#"{"tz":"CET"}"#,
    );
    let fake = openai::start(script);
    let events = sse_data(&post_chat(&fake, &chat_body(true, true)).await?.text().await?);
    let chunks = parse_all(&events)?;
    let deltas: Vec<&Value> =
        chunks.iter().filter_map(|c| c["choices"].get(0).map(|choice| &choice["delta"])).collect();
    assert_eq!(
        *deltas[0],
        json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": ""}}]})
    );
    let mut arguments = [String::new(), String::new()];
    let mut openings = 0;
    for delta in &deltas {
        let Some(call) = delta["tool_calls"].get(0) else { continue };
        let index = call["index"].as_u64().unwrap_or(99) as usize;
        if call.get("id").is_some() {
            openings += 1;
            assert_eq!(call["function"]["arguments"], "");
            continue;
        }
        // Later deltas carry only the index and an argument fragment.
        assert_eq!(call.as_object().map(|o| o.len()), Some(2), "{call}");
        assert_eq!(call["function"].as_object().map(|o| o.len()), Some(1));
        if let (Some(slot), Some(piece)) = (arguments.get_mut(index), call["function"]["arguments"].as_str()) {
            slot.push_str(piece);
        }
    }
    assert_eq!(openings, 2);
    assert_eq!(arguments, [r#"{"city":"Paris"}"#, r#"{"tz":"CET"}"#]);
    let second_opening = deltas.iter().find(|d| d["tool_calls"][0]["id"] == "call_2");
    assert!(second_opening.is_some_and(|d| d.get("role").is_none()));
    let finish = chunks.iter().find_map(|c| c["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("tool_calls"));
    Ok(())
}

#[tokio::test]
async fn the_key_is_checked_first() -> Result<()> {
    let fake = openai::start(OpenAiScript::new().api_key(KEY));
    let url = format!("{}/chat/completions", fake.base_url());
    let missing = client().post(&url).body("not even json").send().await?;
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await?;
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("You didn't provide")));
    assert_eq!(body["error"]["code"], Value::Null);

    let wrong = client().post(&url).bearer_auth("sk-nope-123456789").json(&chat_body(true, false)).send().await?;
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await?;
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(!body.to_string().contains("sk-nope-123456789"), "the key is redacted");
    assert_eq!(fake.chat_requests().len(), 2);
    Ok(())
}

#[tokio::test]
async fn scripted_errors_are_served_in_order_then_the_last_script_repeats() -> Result<()> {
    let fake = openai::start(
        OpenAiScript::new()
            .chat(ChatScript::error(429).retry_after(7))
            .chat(ChatScript::error(500))
            .chat(ChatScript::text(["ok"])),
    );
    let limited = post_chat(&fake, &chat_body(true, false)).await?;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    let body: Value = limited.json().await?;
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let failed = post_chat(&fake, &chat_body(true, false)).await?;
    assert_eq!(failed.status(), 500);
    assert_eq!(failed.json::<Value>().await?["error"]["type"], "server_error");
    for _ in 0..2 {
        let ok = post_chat(&fake, &chat_body(true, false)).await?;
        assert_eq!(ok.status(), 200);
        assert!(ok.text().await?.ends_with("data: [DONE]\n\n"));
    }
    let custom = openai::start(ChatScript::status(403, "{\"error\":{}}").header("x-why", "because"));
    let response = post_chat(&custom, &chat_body(true, false)).await?;
    assert_eq!((response.status().as_u16(), response.headers()["x-why"].to_str()?), (403, "because"));
    assert_eq!(response.text().await?, "{\"error\":{}}");
    Ok(())
}

#[tokio::test]
async fn invalid_bodies_get_openais_400s() -> Result<()> {
    let fake = openai::start(ChatScript::default());
    let url = format!("{}/chat/completions", fake.base_url());
    let garbage = client().post(&url).body("{oops").send().await?;
    assert_eq!(garbage.status(), 400);
    let body: Value = garbage.json().await?;
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("could not parse the JSON")));
    let no_messages = client().post(&url).json(&json!({"model": "m"})).send().await?;
    let body: Value = no_messages.json().await?;
    assert_eq!(
        (body["error"]["param"].as_str(), body["error"]["code"].as_str()),
        (Some("messages"), Some("missing_required_parameter"))
    );
    let options_without_stream = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                        "stream_options": {"include_usage": true}});
    let response = client().post(&url).json(&options_without_stream).send().await?;
    assert_eq!(response.status(), 400);
    Ok(())
}

#[tokio::test]
async fn malformed_streams_break_mid_json_without_done() -> Result<()> {
    let fake = openai::start(ChatScript::malformed());
    let events = sse_data(&post_chat(&fake, &chat_body(true, false)).await?.text().await?);
    assert_ne!(events.last().map(String::as_str), Some("[DONE]"));
    assert!(parse_all(&events[..events.len() - 1]).is_ok());
    assert!(events.last().is_some_and(|e| serde_json::from_str::<Value>(e).is_err()));
    Ok(())
}

#[tokio::test]
async fn cut_streams_end_in_a_transport_error() -> Result<()> {
    let fake = openai::start(ChatScript::text(["a", "b", "c"]).cut_after(2));
    let response = post_chat(&fake, &chat_body(true, false)).await?;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.is_err());
    Ok(())
}

#[tokio::test]
async fn hanging_streams_send_headers_then_nothing_until_the_fake_drops() -> Result<()> {
    let fake = openai::start(ChatScript::new().hang());
    let response = post_chat(&fake, &chat_body(true, false)).await?;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let waited = tokio::time::timeout(Duration::from_millis(300), body.next()).await;
    assert!(waited.is_err(), "no byte arrives: {waited:?}");
    drop(fake);
    let after_drop = tokio::time::timeout(Duration::from_secs(5), body.next()).await?;
    assert!(!matches!(after_drop, Some(Ok(_))), "the stream is cut, not completed");

    let partial = openai::start(ChatScript::text(["Hel", "lo"]).hang());
    let response = post_chat(&partial, &chat_body(true, false)).await?;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while let Ok(Some(Ok(bytes))) = tokio::time::timeout(Duration::from_millis(300), body.next()).await {
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("\"content\":\"lo\"") && !seen.contains("finish_reason\":\"stop"));
    Ok(())
}

#[tokio::test]
async fn delays_pace_the_stream() -> Result<()> {
    let script = ChatScript::text(["a", "b", "c"])
        .response_delay(Duration::from_millis(100))
        .chunk_delay(Duration::from_millis(60));
    let fake = openai::start(script);
    let started = Instant::now();
    let response = post_chat(&fake, &chat_body(true, false)).await?;
    assert!(started.elapsed() >= Duration::from_millis(100));
    let mut body = response.bytes_stream();
    let mut arrivals = Vec::new();
    while let Some(chunk) = body.next().await {
        chunk?;
        arrivals.push(started.elapsed());
    }
    // role, a, b, c, finish: four gaps of 60 ms ([DONE] follows the finish at once).
    let spread = arrivals.last().copied().unwrap_or_default() - arrivals[0];
    assert!(spread >= Duration::from_millis(235), "{arrivals:?}");
    Ok(())
}

#[tokio::test]
async fn non_streaming_requests_get_a_chat_completion_object() -> Result<()> {
    let fake = openai::start(ChatScript::text(["Hi", "!"]).tool_call("call_9", "f", "{}"));
    let body: Value = post_chat(&fake, &chat_body(false, false)).await?.json().await?;
    assert_eq!(body["object"], "chat.completion");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Hi!");
    assert_eq!(message["tool_calls"][0]["function"], json!({"name": "f", "arguments": "{}"}));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert!(body["usage"]["total_tokens"].is_u64());
    Ok(())
}
