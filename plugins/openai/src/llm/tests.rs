use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, respond};
use voiceblox_plugin_contract::types::{HttpResponse, RateLimit, ToolCall};
use voiceblox_plugin_sdk::llm::{Message, Role, ToolDefinition};

fn user(text: &str) -> Message {
    Message { role: Role::User, content: text.into(), tool_calls: Vec::new(), tool_call_id: None }
}

fn weather_request() -> Request {
    Request {
        messages: vec![
            Message {
                role: Role::System,
                content: "You are a voice assistant.".into(),
                tool_calls: Vec::new(),
                tool_call_id: None,
            },
            user("What's the weather in Paris?"),
        ],
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
        }],
        temperature: Some(0.6),
        max_tokens: Some(300),
        extras: String::new(),
    }
}

fn started(base_url: Option<&str>) -> (ChatStream, Vec<Action>) {
    let mut stream = ChatStream::open(&config("gpt-4.1-mini", base_url, json!({})), &weather_request()).unwrap();
    let actions = stream.handle(Input::Start);
    (stream, actions)
}

/// Replays a recorded body at every chunk size and checks the actions never depend on where
/// the body was cut; returns them.
fn replay(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<Action> {
    let mut expected: Option<Vec<Action>> = None;
    for &size in CHUNK_SIZES {
        let (mut stream, _) = started(None);
        let got = respond(|input| stream.handle(input), 1, status, headers, body, size);
        assert!(stream.handle(Input::HttpEnd(1)).is_empty(), "input after the end must be ignored");
        match &expected {
            Some(expected) => assert_eq!(&got, expected, "chunk size {size}"),
            None => expected = Some(got),
        }
    }
    expected.unwrap_or_default()
}

fn sse_head() -> Vec<(&'static str, &'static str)> {
    vec![("content-type", "text/event-stream; charset=utf-8"), ("openai-processing-ms", "212")]
}

fn text(piece: &str) -> Action {
    Action::Emit(Event::Llm(LlmEvent::TextDelta(piece.into())))
}

fn llm(event: LlmEvent) -> Action {
    Action::Emit(Event::Llm(event))
}

#[test]
fn start_sends_the_streaming_request() {
    let (_, actions) = started(None);
    let (id, request) = only_request(&actions);
    assert_eq!(id, 1);
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(header_pairs(&request), [("Authorization", "Bearer {{api-key}}"), ("Content-Type", "application/json")]);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "gpt-4.1-mini",
            "messages": [
                {"role": "system", "content": "You are a voice assistant."},
                {"role": "user", "content": "What's the weather in Paris?"},
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            }}],
            "temperature": 0.6,
            "max_completion_tokens": 300,
        })
    );
}

#[test]
fn start_is_sent_once() {
    let (mut stream, _) = started(None);
    assert!(stream.handle(Input::Start).is_empty());
}

#[test]
fn compatible_server_gets_max_tokens_and_no_auth_without_key() {
    let mut config = config("openai/llama3.2", Some("http://127.0.0.1:11434/v1"), json!({}));
    config.api_key = None;
    let mut stream = ChatStream::open(&config, &weather_request()).unwrap();
    let (_, request) = only_request(&stream.handle(Input::Start));
    assert_eq!(request.url, "http://127.0.0.1:11434/v1/chat/completions");
    assert_eq!(header_pairs(&request), [("Content-Type", "application/json")]);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], "llama3.2");
    assert_eq!(body["max_tokens"], 300);
    assert!(body.get("max_completion_tokens").is_none());
}

#[test]
fn azure_endpoint_request() {
    let config = config(
        "gpt-4o",
        Some("https://contoso.openai.azure.com/openai/deployments/gpt-4o"),
        json!({"apiVersion": "2025-01-01-preview"}),
    );
    let mut stream = ChatStream::open(&config, &weather_request()).unwrap();
    let (_, request) = only_request(&stream.handle(Input::Start));
    assert_eq!(
        request.url,
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview"
    );
    assert_eq!(header_pairs(&request)[0], ("api-key", "{{api-key}}"));
}

#[test]
fn text_stream_with_usage() {
    let actions = replay(200, &sse_head(), &recording("chat_text.sse"));
    let mut expected: Vec<Action> =
        ["Sure", "!", " It's", " 21", "°C", " and", " sunny", " in", " Paris", " today", "."]
            .into_iter()
            .map(text)
            .collect();
    expected.push(llm(LlmEvent::Usage(Usage {
        prompt_tokens: 1187,
        completion_tokens: 12,
        cached_prompt_tokens: 1024,
    })));
    expected.push(llm(LlmEvent::Finish(FinishReason::Stop)));
    expected.push(Action::Finish);
    assert_eq!(actions, expected);
}

#[test]
fn tool_call_deltas_become_complete_calls() {
    let actions = replay(200, &sse_head(), &recording("chat_tool_calls.sse"));
    assert_eq!(
        actions,
        [
            llm(LlmEvent::ToolCall(ToolCall {
                id: "call_Dk2hQm8xZr1bN5pL".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris", "unit": "celsius"}"#.into(),
                provider_data: None,
            })),
            llm(LlmEvent::ToolCall(ToolCall {
                id: "call_9xQwE3rT6yU8iO0p".into(),
                name: "get_local_time".into(),
                arguments: r#"{"timezone": "Europe/Paris"}"#.into(),
                provider_data: None,
            })),
            llm(LlmEvent::Usage(Usage { prompt_tokens: 412, completion_tokens: 46, cached_prompt_tokens: 0 })),
            llm(LlmEvent::Finish(FinishReason::ToolCalls)),
            Action::Finish,
        ]
    );
}

#[test]
fn tool_calls_are_emitted_when_the_choice_finishes_not_at_done() {
    let (mut stream, _) = started(None);
    let body = recording("chat_tool_calls.sse");
    let text = String::from_utf8(body).unwrap();
    let finish_at = text.find(r#""finish_reason":"tool_calls""#).unwrap();
    let event_end = finish_at + text[finish_at..].find("\n\n").unwrap() + 2;
    stream.handle(Input::HttpResponse((1, HttpResponse { status: 200, headers: Vec::new() })));
    let actions = stream.handle(Input::HttpBody((1, text.as_bytes()[..event_end].to_vec())));
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(actions.iter().all(|a| matches!(a, Action::Emit(Event::Llm(LlmEvent::ToolCall(_))))));
}

#[test]
fn compatible_server_with_crlf_comments_and_length_finish() {
    let actions = replay(200, &[("Content-Type", "text/event-stream")], &recording("chat_compat_crlf.sse"));
    assert_eq!(
        actions,
        [
            text("Bonjour"),
            text(" à"),
            text(" vous — ça va ?"),
            llm(LlmEvent::Usage(Usage { prompt_tokens: 26, completion_tokens: 8, cached_prompt_tokens: 0 })),
            llm(LlmEvent::Finish(FinishReason::Length)),
            Action::Finish,
        ]
    );
}

#[test]
fn finish_reason_without_done_still_finishes() {
    let body = recording("chat_text.sse");
    let text = String::from_utf8(body).unwrap();
    let without_done = text.replace("data: [DONE]\n\n", "");
    let actions = replay(200, &sse_head(), without_done.as_bytes());
    assert_eq!(actions[actions.len() - 2..], [llm(LlmEvent::Finish(FinishReason::Stop)), Action::Finish]);
}

#[test]
fn truncated_stream_fails() {
    let actions = replay(200, &sse_head(), &recording("chat_truncated.sse"));
    assert_eq!(
        actions,
        [
            text("Let me"),
            text(" check"),
            Action::Fail(ProviderError::Protocol(
                "stream ended early: the body ended without [DONE] or a finish_reason".into()
            )),
        ]
    );
}

#[test]
fn malformed_chunk_fails_with_protocol_error() {
    let actions = replay(200, &sse_head(), &recording("chat_malformed.sse"));
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0], text("Hi"));
    let Action::Fail(ProviderError::Protocol(message)) = &actions[1] else {
        panic!("expected a protocol failure, got {:?}", actions[1]);
    };
    assert!(message.starts_with("malformed stream chunk (EOF while parsing a string"), "{message}");
    assert!(message.contains(r#""content":"th"#), "{message}");
}

#[test]
fn error_object_mid_stream_fails() {
    let actions = replay(200, &sse_head(), &recording("chat_stream_error.sse"));
    assert_eq!(
        actions,
        [
            text("One moment"),
            Action::Fail(ProviderError::Unavailable(
                "openai stream error: The server had an error while processing your request. Sorry about that!".into()
            )),
        ]
    );
}

#[test]
fn non_streamed_json_answer_is_accepted() {
    let actions = replay(200, &[("Content-Type", "application/json; charset=utf-8")], &recording("chat_whole.json"));
    assert_eq!(
        actions,
        [
            llm(LlmEvent::ToolCall(ToolCall {
                id: "call_x7".into(),
                name: "end_call".into(),
                arguments: "{}".into(),
                provider_data: None
            })),
            llm(LlmEvent::Usage(Usage { prompt_tokens: 90, completion_tokens: 14, cached_prompt_tokens: 0 })),
            llm(LlmEvent::Finish(FinishReason::ToolCalls)),
            Action::Finish,
        ]
    );
}

#[test]
fn unauthorized_response() {
    let actions = replay(401, &[("content-type", "application/json")], &recording("error_401.json"));
    assert_eq!(
        actions,
        [Action::Fail(ProviderError::Unauthorized(
            "openai returned HTTP 401: Incorrect API key provided: sk-proj-********************************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.".into()
        ))]
    );
}

#[test]
fn rate_limited_response_carries_retry_after() {
    let headers = [("content-type", "application/json"), ("retry-after", "1"), ("retry-after-ms", "309")];
    let actions = replay(429, &headers, &recording("error_429.json"));
    assert_eq!(
        actions,
        [Action::Fail(ProviderError::RateLimited(RateLimit {
            message: "openai returned HTTP 429: Rate limit reached for gpt-4.1-mini in organization org-Abc123 on tokens per min (TPM): Limit 200000, Used 199844, Requested 1187. Please try again in 309ms. Visit https://platform.openai.com/account/rate-limits to learn more.".into(),
            retry_after_ms: Some(309),
        }))]
    );
}

#[test]
fn server_errors_are_unavailable() {
    assert_eq!(
        replay(500, &[], &recording("error_500.json")),
        [Action::Fail(ProviderError::Unavailable(
            "openai returned HTTP 500: The server had an error while processing your request. Sorry about that!".into()
        ))]
    );
    let html = replay(502, &[("content-type", "text/html")], &recording("error_502.html"));
    let [Action::Fail(ProviderError::Unavailable(message))] = html.as_slice() else {
        panic!("{html:?}");
    };
    assert!(message.starts_with("openai returned HTTP 502: <html>"), "{message}");
}

#[test]
fn unknown_model_is_an_invalid_request() {
    assert_eq!(
        replay(404, &[], &recording("error_404_model.json")),
        [Action::Fail(ProviderError::InvalidRequest(
            "openai returned HTTP 404: The model `gpt-9` does not exist or you do not have access to it.".into()
        ))]
    );
}

#[test]
fn gateway_timeout_is_a_timeout() {
    assert_eq!(replay(504, &[], b""), [Action::Fail(ProviderError::Timeout("openai returned HTTP 504".into()))]);
}

#[test]
fn inputs_for_other_ids_and_kinds_are_ignored() {
    let (mut stream, _) = started(None);
    assert!(stream.handle(Input::HttpBody((7, b"data: x\n\n".to_vec()))).is_empty());
    assert!(stream.handle(Input::Audio(vec![1, 2])).is_empty());
    assert!(stream.handle(Input::Timer(3)).is_empty());
    assert!(stream.handle(Input::End).is_empty());
}

#[test]
fn bad_requests_fail_at_open() {
    let config = config("gpt-4.1-mini", None, json!({}));
    let mut request = weather_request();
    request.messages.clear();
    assert_eq!(
        ChatStream::open(&config, &request).unwrap_err(),
        ProviderError::InvalidRequest("chat request has no messages".into())
    );
    let bad_options = crate::test_support::config("m", None, json!({"organization": 5}));
    assert_eq!(
        ChatStream::open(&bad_options, &weather_request()).unwrap_err(),
        ProviderError::InvalidRequest("option `organization` must be a string, got a number".into())
    );
}
