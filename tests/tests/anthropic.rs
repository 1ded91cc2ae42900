//! The Anthropic plugin, end to end: host runtime → wasm adapter → host HTTP driver → a faithful
//! fake of the Messages API on loopback; and in a conversation, as the main LLM with an OpenAI
//! fallback taking over when it is overloaded.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use voiceblox_host::config::AgentConfig;
use voiceblox_host::events::{AgentEvent, CollectSink};
use voiceblox_host::flow::{Conversation, FlowContext, Output, Toolbox};
use voiceblox_host::plugin::types::{Event, FinishReason, LlmEvent, ProviderError, ToolCall, Usage};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, llm};
use voiceblox_tests::fakes::anthropic::{self, AnthropicFake, AnthropicScript, MessageScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};

const KEY: &str = "sk-ant-test-7d1e";

fn message(role: llm::Role, content: &str) -> llm::Message {
    llm::Message { role, content: content.into(), tool_calls: vec![], tool_call_id: None }
}

fn request(messages: Vec<llm::Message>) -> OpenRequest {
    OpenRequest::Llm(llm::Request {
        messages,
        tools: vec![llm::ToolDefinition {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
        }],
        temperature: Some(0.2),
        max_tokens: Some(200),
        extras: "{}".into(),
    })
}

fn settings() -> ProviderSettings {
    ProviderSettings { provider: "anthropic".into(), model: "anthropic/claude-haiku-4-5".into(), ..Default::default() }
}

/// A runtime whose environment holds the key and points ANTHROPIC_BASE_URL at the fake.
async fn runtime_for(fake: &AnthropicFake) -> (PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    common::runtime(&[&allow], &[("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", &fake.base_url())]).await
}

fn llm_events(events: &[Event]) -> Vec<LlmEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Llm(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_tool_round_trip_with_the_key_filled_in_by_the_host() {
    let fake = anthropic::start(
        AnthropicScript::new()
            .api_key(KEY)
            .message(MessageScript::text(["Let me look. "]).tool_call(
                "toolu_01",
                "get_weather",
                r#"{"city": "Paris"}"#,
            ))
            .message(MessageScript::text(["It is ", "sunny in Paris."]).with_usage(40, 7).with_cache_read(12)),
    );
    let (runtime, _dir) = runtime_for(&fake).await;
    let asked = vec![message(llm::Role::System, "Be brief."), message(llm::Role::User, "Weather in Paris?")];
    let mut stream = runtime.open(&settings(), request(asked.clone())).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let call = ToolCall {
        id: "toolu_01".into(),
        name: "get_weather".into(),
        arguments: r#"{"city": "Paris"}"#.into(),
        provider_data: None,
    };
    let events = llm_events(&events);
    assert_eq!(events[0], LlmEvent::TextDelta("Let me look. ".into()));
    assert!(events.contains(&LlmEvent::ToolCall(call.clone())), "{events:?}");
    assert_eq!(events.last(), Some(&LlmEvent::Finish(FinishReason::ToolCalls)));

    // The answer goes back as a tool_result block of the next user turn (the fake refuses a
    // tool_use left without one).
    let mut answered = asked;
    answered.push(llm::Message { tool_calls: vec![call], ..message(llm::Role::Assistant, "Let me look. ") });
    answered.push(llm::Message { tool_call_id: Some("toolu_01".into()), ..message(llm::Role::Tool, "sunny, 24 C") });
    let mut stream = runtime.open(&settings(), request(answered)).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(
        llm_events(&events),
        [
            LlmEvent::TextDelta("It is ".into()),
            LlmEvent::TextDelta("sunny in Paris.".into()),
            LlmEvent::Usage(Usage { prompt_tokens: 52, completion_tokens: 7, cached_prompt_tokens: 12 }),
            LlmEvent::Finish(FinishReason::Stop),
        ]
    );

    let requests = fake.message_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("x-api-key"), Some(KEY), "the host put the real key in place of the placeholder");
    assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
    let body = requests[1].json().unwrap();
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny, 24 C"})
    );
}

#[tokio::test]
async fn refusals_arrive_with_their_class() {
    let fake = anthropic::start(
        AnthropicScript::new()
            .api_key(KEY)
            .message(MessageScript::error(529))
            .message(MessageScript::text(["Hi"]).overloaded_after(1)),
    );
    let (runtime, _dir) = runtime_for(&fake).await;
    let hello = || request(vec![message(llm::Role::User, "Hello")]);
    let mut stream = runtime.open(&settings(), hello()).await.unwrap();
    let (_, result) = common::collect(&mut stream).await;
    assert!(matches!(result, Err(StreamError::Provider { error: ProviderError::Unavailable(_), .. })), "{result:?}");
    // Overloaded after a word: the word arrived, then the outage.
    let mut stream = runtime.open(&settings(), hello()).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    assert_eq!(llm_events(&events), [LlmEvent::TextDelta("Hi".into())]);
    assert!(
        matches!(result, Err(StreamError::Provider { error: ProviderError::Unavailable(ref m), .. }) if m.contains("Overloaded")),
        "{result:?}"
    );
}

/// Words for one conversation turn.
async fn words(conversation: &mut Conversation) -> String {
    let mut said = String::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), conversation.next()).await.expect("turn did not end") {
            Output::Text(text) => said.push_str(&text),
            Output::Done { .. } => {
                conversation.commit_spoken(None);
                return said;
            }
        }
    }
}

#[tokio::test]
async fn an_overloaded_claude_hands_the_turn_to_an_openai_fallback() {
    let claude = anthropic::start(AnthropicScript::new().api_key(KEY).message(MessageScript::error(529)));
    let gpt = openai::start(OpenAiScript::new().api_key("sk-openai").chat(ChatScript::text(["Hello from GPT."])));
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let config = json!({
        "instructions": "You are Ava.",
        "llm": {"provider": "anthropic", "model": "claude-sonnet-4-5", "apiKey": KEY, "baseURL": claude.base_url(),
                "fallbacks": [{"provider": "openai", "model": "gpt-4.1-mini", "apiKey": "sk-openai", "baseURL": gpt.base_url()}]},
        "steps": [{"id": "start", "type": "start", "command": "Greet the user."}],
    });
    let config = Arc::new(AgentConfig::from_json(&config.to_string()).unwrap());
    let sink = CollectSink::default();
    let mut conversation =
        Conversation::new(Arc::new(FlowContext::new(config, runtime, Toolbox::default(), Arc::new(sink.clone()))));
    conversation.start();
    assert_eq!(words(&mut conversation).await, "Hello from GPT.", "{:?}", sink.events());
    let switched = sink.events().iter().any(|e| {
        matches!(e, AgentEvent::ProviderSwitch { from, to, .. }
            if from == "anthropic/claude-sonnet-4-5" && to == "openai/gpt-4.1-mini")
    });
    assert!(switched, "{:?}", sink.events());
    // Claude was asked the same thing GPT then answered.
    assert_eq!(claude.message_requests()[0].json().unwrap()["system"].as_str().map(|s| s.contains("Ava")), Some(true));
}
