use serde_json::{Value, json};

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, respond};
use voiceblox_plugin_contract::test_support::llm_events as events;
use voiceblox_plugin_contract::types::{RateLimit, Usage};
use voiceblox_plugin_sdk::llm::{Message, Role, ToolDefinition};

fn request() -> Request {
    let message =
        |role, content: &str| Message { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None };
    Request {
        messages: vec![message(Role::System, "You are a voice assistant."), message(Role::User, "When does it ship?")],
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: "Weather for a place".into(),
            parameters: r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
                "properties":{"location":{"type":"string"},"unit":{"type":["string","null"],"enum":["celsius","fahrenheit"]}},
                "required":["location"],"additionalProperties":false}"#
                .into(),
        }],
        temperature: Some(0.6),
        max_tokens: Some(300),
        extras: String::new(),
    }
}

fn started() -> (GenerateStream, Vec<Action>) {
    let mut stream = GenerateStream::open(&config("google/gemini-2.5-flash", None, json!({})), &request()).unwrap();
    let actions = stream.handle(Input::Start);
    (stream, actions)
}

/// Replays a recorded answer at every chunk size; the actions must not depend on where the
/// network cut the body.
fn replay(status: u16, headers: &[(&str, &str)], name: &str) -> Vec<Action> {
    let body = recording(name);
    let mut seen: Option<Vec<Action>> = None;
    for &chunk in CHUNK_SIZES {
        let (mut stream, _) = started();
        let actions = respond(|input| stream.handle(input), 1, status, headers, &body, chunk);
        if let Some(first) = &seen {
            assert_eq!(&actions, first, "chunk size {chunk} changed the outcome");
        }
        seen = Some(actions);
    }
    seen.unwrap_or_default()
}

fn sse(name: &str) -> Vec<Action> {
    replay(200, &[("content-type", "text/event-stream")], name)
}

#[test]
fn the_request_streams_from_the_model_path_with_the_key_placeholder() {
    let (_, actions) = started();
    let (id, request) = only_request(&actions);
    assert_eq!(
        (id, request.method.as_str(), request.url.as_str()),
        (
            1,
            "POST",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        )
    );
    assert_eq!(header_pairs(&request), [("x-goog-api-key", "{{api-key}}"), ("content-type", "application/json")]);
    assert!(!request.url.contains("key="), "the key goes in the header, never the URL");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["systemInstruction"], json!({"parts": [{"text": "You are a voice assistant."}]}));
    assert_eq!(body["contents"], json!([{"role": "user", "parts": [{"text": "When does it ship?"}]}]));
    assert_eq!(body["generationConfig"], json!({"temperature": 0.6, "maxOutputTokens": 300}));
    // The schema in the subset the API accepts: no $schema, no additionalProperties, a nullable
    // instead of a type list.
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather for a place", "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"},
                           "unit": {"type": "string", "nullable": true, "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"]}}]}])
    );
}

#[test]
fn a_streamed_answer_becomes_text_then_usage_then_finish() {
    let actions = sse("generate_text.sse");
    assert_eq!(
        events(&actions),
        [
            LlmEvent::TextDelta("Hello".into()),
            LlmEvent::TextDelta("! Your order ships Monday. ¿Algo más?".into()),
            // The last chunk's counts; thinking is output the model generated.
            LlmEvent::Usage(Usage { prompt_tokens: 612, completion_tokens: 14 + 33, cached_prompt_tokens: 256 }),
            LlmEvent::Finish(FinishReason::Stop),
        ]
    );
    assert_eq!(actions.last(), Some(&Action::Finish));
}

#[test]
fn function_calls_arrive_whole_with_their_thought_signature_beside_a_short_id() {
    let actions = sse("generate_function_call.sse");
    let events = events(&actions);
    // The thought summary is not spoken.
    assert_eq!(events[0], LlmEvent::TextDelta("Let me check the weather.".into()));
    let LlmEvent::ToolCall(weather) = &events[1] else { panic!("{events:?}") };
    assert_eq!(weather.name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&weather.arguments).unwrap(),
        json!({"location": "Paris, France", "unit": "celsius"})
    );
    assert_eq!(weather.id, "gemini-call-L4jJaK6ZLMXAz7IP8a2e-Ag-0");
    assert!(weather.id.len() <= 40, "short enough for any provider after a fallback");
    assert_eq!(
        weather.provider_data.as_deref(),
        Some(r#"{"thoughtSignature":"CiQB0e2Kb3h2lUzFk9Ma2vOHEEFz8u+eh3m+7NqXvO2bKhDDkq0KXgHR7Ypv"}"#)
    );
    // A function without arguments: `args` is absent, the arguments an empty object.
    assert_eq!(
        events[2],
        LlmEvent::ToolCall(ToolCall {
            id: "gemini-call-L4jJaK6ZLMXAz7IP8a2e-Ag-1".into(),
            name: "get_time".into(),
            arguments: "{}".into(),
            provider_data: None
        })
    );
    assert_eq!(events[3], LlmEvent::Usage(Usage { prompt_tokens: 98, completion_tokens: 81, cached_prompt_tokens: 0 }));
    assert_eq!(events[4], LlmEvent::Finish(FinishReason::ToolCalls), "Gemini says STOP; the calls say more");
    assert_eq!(events.len(), 5);

    // The next request sends the calls back with the signature where the API wants it.
    let mut next = request();
    let calls: Vec<ToolCall> = events
        .iter()
        .filter_map(|e| match e {
            LlmEvent::ToolCall(call) => Some(call.clone()),
            _ => None,
        })
        .collect();
    next.messages.push(Message {
        role: Role::Assistant,
        content: "Let me check the weather.".into(),
        tool_calls: calls.clone(),
        tool_call_id: None,
    });
    for (call, output) in calls.iter().zip(["14 C, rain", "09:12"]) {
        next.messages.push(Message {
            role: Role::Tool,
            content: output.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call.id.clone()),
        });
    }
    let mut stream = GenerateStream::open(&config("gemini-2.5-flash", None, json!({})), &next).unwrap();
    let (_, sent) = only_request(&stream.handle(Input::Start));
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body["contents"][1]["parts"][1],
        json!({"functionCall": {"name": "get_weather", "args": {"location": "Paris, France", "unit": "celsius"}},
               "thoughtSignature": "CiQB0e2Kb3h2lUzFk9Ma2vOHEEFz8u+eh3m+7NqXvO2bKhDDkq0KXgHR7Ypv"})
    );
    assert_eq!(
        body["contents"][2]["parts"],
        json!([{"functionResponse": {"name": "get_weather", "response": {"output": "14 C, rain"}}},
               {"functionResponse": {"name": "get_time", "response": {"output": "09:12"}}}])
    );
}

#[test]
fn a_safety_cut_keeps_the_words_and_finishes_as_filtered() {
    let actions = sse("generate_safety.sse");
    assert_eq!(
        events(&actions),
        [
            LlmEvent::TextDelta("Here is how".into()),
            LlmEvent::Usage(Usage { prompt_tokens: 20, completion_tokens: 3, cached_prompt_tokens: 0 }),
            LlmEvent::Finish(FinishReason::ContentFilter),
        ]
    );
    assert_eq!(actions.last(), Some(&Action::Finish));
}

#[test]
fn a_blocked_prompt_fails_as_an_invalid_request_naming_the_reason() {
    let actions = sse("generate_prompt_blocked.sse");
    assert_eq!(events(&actions), []);
    assert_eq!(
        actions.last(),
        Some(&Action::Fail(ProviderError::InvalidRequest("google blocked the prompt (PROHIBITED_CONTENT)".into())))
    );
}

#[test]
fn an_error_mid_stream_fails_with_its_class() {
    let actions = sse("generate_overloaded.sse");
    assert_eq!(events(&actions), [LlmEvent::TextDelta("Sure, ".into())]);
    assert_eq!(
        actions.last(),
        Some(&Action::Fail(ProviderError::Unavailable(
            "google stream error: The model is overloaded. Please try again later. (UNAVAILABLE)".into()
        )))
    );
}

#[test]
fn http_errors_keep_their_class_message_and_retry_hint() {
    let json = [("content-type", "application/json; charset=UTF-8")];
    let fail = |status: u16, name: &str| replay(status, &json, name).last().cloned();
    // A wrong key is a 400 to Google; it is an authorization failure all the same (not retried,
    // and the key the DebugInfo detail echoes stays out of the message).
    let Some(Action::Fail(ProviderError::Unauthorized(message))) = fail(400, "error_400_key.json") else {
        panic!("a wrong key is not unauthorized");
    };
    assert_eq!(message, "google returned HTTP 400: API key not valid. Please pass a valid API key. (INVALID_ARGUMENT)");
    assert!(!message.contains("AIza"), "{message}");
    assert_eq!(
        fail(403, "error_403.json"),
        Some(Action::Fail(ProviderError::Unauthorized(
            "google returned HTTP 403: Method doesn't allow unregistered callers (callers without established \
             identity). Please use API Key or other form of API consumer identity to call this API. \
             (PERMISSION_DENIED)"
                .into()
        )))
    );
    let Some(Action::Fail(ProviderError::InvalidRequest(message))) = fail(400, "error_400_schema.json") else {
        panic!("a refused schema is not an invalid request");
    };
    assert!(message.contains(r#"Unknown name "additionalProperties""#), "{message}");
    // No Retry-After header: the wait comes from the RetryInfo detail.
    let Some(Action::Fail(ProviderError::RateLimited(RateLimit { retry_after_ms, message }))) =
        fail(429, "error_429.json")
    else {
        panic!("not a rate limit");
    };
    assert_eq!(retry_after_ms, Some(7000));
    assert!(message.starts_with("google returned HTTP 429: You exceeded your current quota"), "{message}");
    assert!(message.ends_with("(RESOURCE_EXHAUSTED)"), "{message}");
    assert_eq!(
        fail(503, "error_503.json"),
        Some(Action::Fail(ProviderError::Unavailable(
            "google returned HTTP 503: The model is overloaded. Please try again later. (UNAVAILABLE)".into()
        )))
    );
}

#[test]
fn a_body_that_ends_before_a_finish_reason_is_a_protocol_error() {
    let text = String::from_utf8(recording("generate_text.sse")).unwrap();
    let cut = text.find("\"finishReason\"").and_then(|at| text[..at].rfind("data: ")).unwrap();
    let (mut stream, _) = started();
    let actions = respond(
        |input| stream.handle(input),
        1,
        200,
        &[("content-type", "text/event-stream")],
        &text.as_bytes()[..cut],
        17,
    );
    assert_eq!(events(&actions).len(), 2, "the words that arrived were still spoken");
    assert!(
        matches!(actions.last(), Some(Action::Fail(ProviderError::Protocol(m))) if m.contains("finishReason")),
        "{actions:?}"
    );
}

#[test]
fn malformed_chunks_are_protocol_errors() {
    let (mut stream, _) = started();
    let actions =
        respond(|input| stream.handle(input), 1, 200, &[], b"data: {\"candidates\": [{\"content\": \r\n\r\n", 64);
    assert!(matches!(actions.last(), Some(Action::Fail(ProviderError::Protocol(m))) if m.contains("malformed")));
}
