use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, respond};
use voiceblox_plugin_contract::test_support::llm_events as events;
use voiceblox_plugin_contract::types::{RateLimit, Usage};
use voiceblox_plugin_sdk::llm::{Message, Role};

fn request() -> Request {
    let message =
        |role, content: &str| Message { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None };
    Request {
        messages: vec![message(Role::System, "You are a voice assistant."), message(Role::User, "When does it ship?")],
        tools: Vec::new(),
        temperature: Some(0.6),
        max_tokens: Some(300),
        extras: String::new(),
    }
}

fn started() -> (MessageStream, Vec<Action>) {
    let mut stream = MessageStream::open(&config("anthropic/claude-haiku-4-5", None, json!({})), &request()).unwrap();
    let actions = stream.handle(Input::Start);
    (stream, actions)
}

/// Replays a recorded answer at every chunk size; the actions must not depend on where the
/// network cut the body.
fn replay(status: u16, content_type: &str, name: &str) -> Vec<Action> {
    let body = recording(name);
    let mut seen: Option<Vec<Action>> = None;
    for &chunk in CHUNK_SIZES {
        let (mut stream, _) = started();
        let actions = respond(|input| stream.handle(input), 1, status, &[("content-type", content_type)], &body, chunk);
        if let Some(first) = &seen {
            assert_eq!(&actions, first, "chunk size {chunk} changed the outcome");
        }
        seen = Some(actions);
    }
    seen.unwrap_or_default()
}

#[test]
fn the_request_goes_to_v1_messages_with_the_key_placeholder_and_version() {
    let (_, actions) = started();
    let (id, request) = only_request(&actions);
    assert_eq!(
        (id, request.method.as_str(), request.url.as_str()),
        (1, "POST", "https://api.anthropic.com/v1/messages")
    );
    assert_eq!(
        header_pairs(&request),
        [("x-api-key", "{{api-key}}"), ("anthropic-version", "2023-06-01"), ("content-type", "application/json")]
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], "claude-haiku-4-5", "the provider prefix is the host's, not the API's");
    assert_eq!((body["max_tokens"].as_u64(), body["stream"].as_bool()), (Some(300), Some(true)));
    assert_eq!(body["system"], "You are a voice assistant.");
}

#[test]
fn a_streamed_answer_becomes_text_then_usage_then_finish() {
    let actions = replay(200, "text/event-stream; charset=utf-8", "messages_text.sse");
    assert_eq!(
        events(&actions),
        [
            LlmEvent::TextDelta("Hello".into()),
            LlmEvent::TextDelta("! Your order ships Monday. ¿Algo más?".into()),
            // 472 uncached + 128 read from the cache: prompt tokens count both, as OpenAI's do.
            LlmEvent::Usage(Usage { prompt_tokens: 600, completion_tokens: 15, cached_prompt_tokens: 128 }),
            LlmEvent::Finish(FinishReason::Stop),
        ]
    );
    assert_eq!(actions.last(), Some(&Action::Finish));
}

#[test]
fn tool_use_blocks_become_whole_tool_calls() {
    let actions = replay(200, "text/event-stream", "messages_tool_use.sse");
    let events = events(&actions);
    assert_eq!(events[0], LlmEvent::TextDelta("Let me check the weather.".into()));
    assert_eq!(
        events[1],
        LlmEvent::ToolCall(ToolCall {
            id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
            name: "get_weather".into(),
            arguments: r#"{"location": "San Francisco, CA", "unit": "celsius"}"#.into(),
            provider_data: None,
        })
    );
    // A tool without input streams no JSON at all: its arguments are an empty object.
    assert_eq!(
        events[2],
        LlmEvent::ToolCall(ToolCall {
            id: "toolu_02".into(),
            name: "get_time".into(),
            arguments: "{}".into(),
            provider_data: None
        })
    );
    assert_eq!(events.last(), Some(&LlmEvent::Finish(FinishReason::ToolCalls)));
}

#[test]
fn an_overload_mid_answer_fails_the_stream_as_an_outage() {
    let actions = replay(200, "text/event-stream", "messages_overloaded.sse");
    assert_eq!(events(&actions), [LlmEvent::TextDelta("Sure, ".into())]);
    assert_eq!(
        actions.last(),
        Some(&Action::Fail(ProviderError::Unavailable("anthropic stream error: Overloaded".into())))
    );
}

#[test]
fn http_errors_keep_their_class_message_and_retry_hint() {
    let fail = |status: u16, headers: &[(&str, &str)], name: &str| {
        let (mut stream, _) = started();
        let actions = respond(|input| stream.handle(input), 1, status, headers, &recording(name), 64);
        actions.last().cloned()
    };
    let json = ("content-type", "application/json");
    assert_eq!(
        fail(529, &[json], "error_529.json"),
        Some(Action::Fail(ProviderError::Unavailable("anthropic returned HTTP 529: Overloaded".into())))
    );
    assert_eq!(
        fail(401, &[json], "error_401.json"),
        Some(Action::Fail(ProviderError::Unauthorized("anthropic returned HTTP 401: invalid x-api-key".into())))
    );
    let Some(Action::Fail(ProviderError::RateLimited(RateLimit { retry_after_ms, message }))) =
        fail(429, &[json, ("retry-after", "7")], "error_429.json")
    else {
        panic!("not a rate limit");
    };
    assert_eq!(retry_after_ms, Some(7000));
    assert!(message.contains("50 requests per minute"), "{message}");
}

#[test]
fn a_body_that_ends_before_message_stop_is_a_protocol_error() {
    let full = recording("messages_text.sse");
    let text = String::from_utf8(full).unwrap();
    let cut = text.find("event: message_delta").unwrap();
    let (mut stream, _) = started();
    let actions = respond(
        |input| stream.handle(input),
        1,
        200,
        &[("content-type", "text/event-stream")],
        &text.as_bytes()[..cut],
        17,
    );
    assert!(
        matches!(actions.last(), Some(Action::Fail(ProviderError::Protocol(m))) if m.contains("message_stop")),
        "{actions:?}"
    );
}
