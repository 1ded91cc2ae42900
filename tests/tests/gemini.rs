//! The Gemini plugin, end to end: host runtime → wasm adapter → host HTTP driver → a faithful
//! fake of the Gemini API on loopback; and in a conversation, as the main LLM that waits out a
//! rate limit, and that hands the turn to an OpenAI fallback when it is overloaded.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use voiceblox_host::config::AgentConfig;
use voiceblox_host::egress::Secret;
use voiceblox_host::events::{AgentEvent, CollectSink};
use voiceblox_host::flow::{Conversation, FlowContext, Output, Toolbox};
use voiceblox_host::plugin::types::{Event, FinishReason, LlmEvent, ProviderError, Usage};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, llm};
use voiceblox_tests::fakes::gemini::{self, GeminiFake, GeminiScript, GenerateScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};

const KEY: &str = "AIzaSy-test-7d1e";
const SIGNATURE: &str = "CiQB0e2Kb3h2lUzFk9Ma2vOHEEFz8u+eh3m+7NqXvO2bKhDDkq0K";

fn message(role: llm::Role, content: &str) -> llm::Message {
    llm::Message { role, content: content.into(), tool_calls: vec![], tool_call_id: None }
}

fn request(messages: Vec<llm::Message>) -> OpenRequest {
    OpenRequest::Llm(llm::Request {
        messages,
        tools: vec![llm::ToolDefinition {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            // As MCP servers write it: keywords Gemini's schema refuses, which the plugin drops.
            parameters: r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
                "properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}"#
                .into(),
        }],
        temperature: Some(0.2),
        max_tokens: Some(200),
        extras: "{}".into(),
    })
}

fn settings() -> ProviderSettings {
    ProviderSettings { provider: "google".into(), model: "google/gemini-2.5-flash".into(), ..Default::default() }
}

/// A runtime whose environment holds the key and points GOOGLE_BASE_URL at the fake.
async fn runtime_for(fake: &GeminiFake) -> (PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    common::runtime(&[&allow], &[("GEMINI_API_KEY", KEY), ("GOOGLE_BASE_URL", &fake.base_url())]).await
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
    // Like a Gemini 3 model: the call is signed and the next request must carry the signature.
    let fake = gemini::start(
        GeminiScript::new()
            .api_key(KEY)
            .require_thought_signatures()
            .generate(GenerateScript::text(["Let me look. "]).signed_function_call(
                "get_weather",
                r#"{"city": "Paris"}"#,
                SIGNATURE,
            ))
            .generate(GenerateScript::text(["It is ", "sunny in Paris."]).with_usage(40, 7).with_cached(12)),
    );
    let (runtime, _dir) = runtime_for(&fake).await;
    let asked = vec![message(llm::Role::System, "Be brief."), message(llm::Role::User, "Weather in Paris?")];
    let mut stream = runtime.open(&settings(), request(asked.clone())).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let events = llm_events(&events);
    assert_eq!(events[0], LlmEvent::TextDelta("Let me look. ".into()));
    let Some(LlmEvent::ToolCall(call)) = events.get(1).cloned() else { panic!("{events:?}") };
    assert_eq!(call.name, "get_weather");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&call.arguments).unwrap(), json!({"city": "Paris"}));
    assert_eq!(events.last(), Some(&LlmEvent::Finish(FinishReason::ToolCalls)));

    // The answer goes back as a functionResponse named after the call, the call with its
    // signature (the fake refuses an unsigned call of the current turn).
    let mut answered = asked;
    answered.push(llm::Message { tool_calls: vec![call.clone()], ..message(llm::Role::Assistant, "Let me look. ") });
    answered.push(llm::Message { tool_call_id: Some(call.id.clone()), ..message(llm::Role::Tool, "sunny, 24 C") });
    let mut stream = runtime.open(&settings(), request(answered)).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(
        llm_events(&events),
        [
            LlmEvent::TextDelta("It is ".into()),
            LlmEvent::TextDelta("sunny in Paris.".into()),
            LlmEvent::Usage(Usage { prompt_tokens: 40, completion_tokens: 7, cached_prompt_tokens: 12 }),
            LlmEvent::Finish(FinishReason::Stop),
        ]
    );

    let requests = fake.generate_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path(), "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    assert_eq!(requests[0].query_param("alt").as_deref(), Some("sse"));
    assert_eq!(requests[0].query_param("key"), None, "the key travels in the header only");
    assert_eq!(
        requests[0].header("x-goog-api-key"),
        Some(KEY),
        "the host put the real key in place of the placeholder"
    );
    let body = requests[1].json().unwrap();
    assert_eq!(body["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
    assert_eq!(body["contents"][1]["parts"][1]["thoughtSignature"], SIGNATURE);
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny, 24 C"}}}]})
    );
    assert_eq!(body["tools"][0]["functionDeclarations"][0]["parameters"]["required"], json!(["city"]));
}

#[tokio::test]
async fn a_signed_call_from_gemini_is_taken_by_openai_mid_call() {
    // Gemini calls a tool with a long thought signature; the follow-up goes to OpenAI (a
    // fallback), which refuses tool-call ids over 40 characters. The signature travels in the
    // call's provider data, so the id stays short and OpenAI takes the conversation.
    let long_signature = "c2ln".repeat(60);
    let gemini = gemini::start(GeminiScript::new().api_key(KEY).generate(
        GenerateScript::text(["Checking. "]).signed_function_call(
            "get_weather",
            r#"{"city": "Oslo"}"#,
            &long_signature,
        ),
    ));
    let gpt = openai::start(OpenAiScript::new().api_key("sk-openai").chat(ChatScript::text(["Oslo is cold."])));
    let allow = [format!("127.0.0.1:{}", gemini.addr().port()), format!("127.0.0.1:{}", gpt.addr().port())];
    let env = [("GEMINI_API_KEY", KEY), ("OPENAI_API_KEY", "sk-openai")];
    let (runtime, _dir) = common::runtime(&[&allow[0], &allow[1]], &env).await;
    let base = |fake_url: String| ProviderSettings { base_url: Some(fake_url), ..settings() };
    let asked = vec![message(llm::Role::User, "Weather in Oslo?")];
    let mut stream = runtime.open(&base(gemini.base_url()), request(asked.clone())).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let Some(LlmEvent::ToolCall(call)) = llm_events(&events).get(1).cloned() else { panic!("{events:?}") };
    assert!(call.id.len() <= 40, "{}", call.id);
    assert!(call.provider_data.as_deref().is_some_and(|d| d.contains(&long_signature)), "{call:?}");

    let mut answered = asked;
    answered.push(llm::Message { tool_calls: vec![call.clone()], ..message(llm::Role::Assistant, "Checking. ") });
    answered.push(llm::Message { tool_call_id: Some(call.id.clone()), ..message(llm::Role::Tool, "-3 C") });
    let openai = ProviderSettings {
        provider: "openai".into(),
        model: "gpt-4.1-mini".into(),
        base_url: Some(gpt.base_url()),
        ..Default::default()
    };
    let mut stream = runtime.open(&openai, request(answered)).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(llm_events(&events)[0], LlmEvent::TextDelta("Oslo is cold.".into()));
    let body = gpt.chat_requests()[0].json().unwrap();
    assert_eq!(body["messages"][1]["tool_calls"][0]["id"], call.id.as_str());
    assert_eq!(body["messages"][2]["tool_call_id"], call.id.as_str());
    assert!(!body.to_string().contains(&long_signature), "OpenAI never sees Gemini's signature");
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_never_echoed() {
    let fake = gemini::start(GeminiScript::new().api_key(KEY));
    let (runtime, _dir) = runtime_for(&fake).await;
    let wrong = "AIzaSy-wrong-1234";
    let settings = ProviderSettings { api_key: Some(Secret::new(wrong)), ..settings() };
    let mut stream = runtime.open(&settings, request(vec![message(llm::Role::User, "Hello")])).await.unwrap();
    let error = common::collect(&mut stream).await.1.unwrap_err();
    // Google answers a wrong key with a 400; it is still a key problem, so neither retried nor
    // reported as a bad request.
    assert!(
        matches!(&error, StreamError::Provider { error: ProviderError::Unauthorized(m), .. }
            if m.contains("API key not valid")),
        "{error}"
    );
    assert_eq!(error.retry_delay(), None, "a wrong key is not worth a retry");
    assert!(!error.to_string().contains(wrong), "{error}");
    assert_eq!(fake.generate_requests()[0].header("x-goog-api-key"), Some(wrong));
}

#[tokio::test]
async fn refusals_arrive_with_their_class() {
    let fake = gemini::start(
        GeminiScript::new()
            .api_key(KEY)
            .generate(GenerateScript::rate_limited(3))
            .generate(GenerateScript::blocked("SAFETY"))
            .generate(GenerateScript::text(["Hi", " there"]).error_after(1, 503)),
    );
    let (runtime, _dir) = runtime_for(&fake).await;
    let hello = || request(vec![message(llm::Role::User, "Hello")]);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let mut stream = runtime.open(&settings(), hello()).await.unwrap();
        outcomes.push(common::collect(&mut stream).await);
    }
    // The wait comes from the RetryInfo detail: Google sends no Retry-After header.
    assert!(
        matches!(&outcomes[0].1, Err(StreamError::Provider { error: ProviderError::RateLimited(r), .. })
            if r.retry_after_ms == Some(3000)),
        "{:?}",
        outcomes[0].1
    );
    assert!(
        matches!(&outcomes[1].1, Err(StreamError::Provider { error: ProviderError::InvalidRequest(m), .. })
            if m.contains("blocked the prompt (SAFETY)")),
        "{:?}",
        outcomes[1].1
    );
    // Overloaded after a word: the word arrived, then the outage.
    assert_eq!(llm_events(&outcomes[2].0), [LlmEvent::TextDelta("Hi".into())]);
    assert!(
        matches!(&outcomes[2].1, Err(StreamError::Provider { error: ProviderError::Unavailable(m), .. })
            if m.contains("overloaded")),
        "{:?}",
        outcomes[2].1
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

async fn conversation(llm: serde_json::Value) -> (Conversation, CollectSink, tempfile::TempDir) {
    let (runtime, dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let config = json!({
        "instructions": "You are Ava.",
        "llm": llm,
        "steps": [{"id": "start", "type": "start", "command": "Greet the user."}],
    });
    let config = Arc::new(AgentConfig::from_json(&config.to_string()).unwrap());
    let sink = CollectSink::default();
    let conversation =
        Conversation::new(Arc::new(FlowContext::new(config, runtime, Toolbox::default(), Arc::new(sink.clone()))));
    (conversation, sink, dir)
}

#[tokio::test]
async fn a_rate_limited_gemini_is_waited_out_and_then_answers() {
    let fake = gemini::start(
        GeminiScript::new()
            .api_key(KEY)
            .generate(GenerateScript::rate_limited(1))
            .generate(GenerateScript::text(["Hello, ", "I am Ava."])),
    );
    let llm = json!({"provider": "google", "model": "gemini-2.5-flash", "apiKey": KEY, "baseURL": fake.base_url()});
    let (mut conversation, sink, _dir) = conversation(llm).await;
    conversation.start();
    assert_eq!(words(&mut conversation).await, "Hello, I am Ava.", "{:?}", sink.events());
    let requests = fake.generate_requests();
    assert_eq!(requests.len(), 2, "one retry, after the delay Google asked for");
    let waited = requests[1].received_at.duration_since(requests[0].received_at);
    assert!(waited >= Duration::from_millis(900), "retried after {waited:?}");
}

#[tokio::test]
async fn a_wrong_key_in_a_conversation_is_reported_once_without_a_retry() {
    let fake = gemini::start(GeminiScript::new().api_key(KEY));
    let wrong = "AIzaSy-wrong-5678";
    let llm = json!({"provider": "google", "model": "gemini-2.5-flash", "apiKey": wrong, "baseURL": fake.base_url()});
    let (mut conversation, sink, _dir) = conversation(llm).await;
    conversation.start();
    words(&mut conversation).await;
    assert_eq!(fake.generate_requests().len(), 1, "a key problem is not retried");
    let errors: Vec<String> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(errors.iter().any(|m| m.contains("API key not valid")), "{errors:?}");
    assert!(errors.iter().all(|m| !m.contains(wrong)), "{errors:?}");
}

#[tokio::test]
async fn an_overloaded_gemini_hands_the_turn_to_an_openai_fallback() {
    let gemini = gemini::start(GeminiScript::new().api_key(KEY).generate(GenerateScript::error(503)));
    let gpt = openai::start(OpenAiScript::new().api_key("sk-openai").chat(ChatScript::text(["Hello from GPT."])));
    let llm = json!({"provider": "google", "model": "gemini-2.5-flash", "apiKey": KEY, "baseURL": gemini.base_url(),
        "fallbacks": [{"provider": "openai", "model": "gpt-4.1-mini", "apiKey": "sk-openai", "baseURL": gpt.base_url()}]});
    let (mut conversation, sink, _dir) = conversation(llm).await;
    conversation.start();
    assert_eq!(words(&mut conversation).await, "Hello from GPT.", "{:?}", sink.events());
    let switched = sink.events().iter().any(|e| {
        matches!(e, AgentEvent::ProviderSwitch { from, to, .. }
            if from == "google/gemini-2.5-flash" && to == "openai/gpt-4.1-mini")
    });
    assert!(switched, "{:?}", sink.events());
    // Gemini was asked the same thing GPT then answered.
    let asked = gemini.generate_requests()[0].json().unwrap();
    assert!(asked["systemInstruction"]["parts"][0]["text"].as_str().is_some_and(|s| s.contains("Ava")), "{asked}");
}
