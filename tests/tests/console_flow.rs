//! The text console and the step engine over time: timer expiry, provider failures
//! mid-stream, retries.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use voiceblox_host::agent::text;
use voiceblox_host::config::AgentConfig;
use voiceblox_host::events::{AgentEvent, CollectSink, ErrorCode};
use voiceblox_host::flow::{Conversation, FlowContext, Toolbox};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};

fn context(
    base_url: &str,
    steps: serde_json::Value,
    runtime: voiceblox_host::plugin::PluginRuntime,
    sink: &CollectSink,
) -> Arc<FlowContext> {
    let json = json!({
        "instructions": "You are a quiz host.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "apiKey": "sk-console-1", "baseURL": base_url},
        "steps": steps
    });
    // Built without validation: a 1 s timer is below the product's 30 s minimum, which is
    // what makes this test fast.
    let config = AgentConfig::from_json(&json.to_string()).unwrap();
    Arc::new(FlowContext::new(Arc::new(config), runtime, Toolbox::default(), Arc::new(sink.clone())))
}

#[tokio::test]
async fn a_timer_step_moves_on_by_itself_when_its_time_is_up() {
    let fake = openai::start(OpenAiScript::new().chat(ChatScript::text(["Time is up! Let's wrap up."])));
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let sink = CollectSink::default();
    let steps = json!([
        {"id": "s", "type": "start", "command": "Quiz time!", "isLiteral": true, "nextStepIds": {"next": "t"}},
        {"id": "t", "type": "timer", "duration": 1, "command": "Ask quiz questions.", "nextStepIds": {"next": "b"}},
        {"id": "b", "type": "burst", "rounds": 1, "command": "Ask how they liked it.", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end", "command": "Bye!", "isLiteral": true}
    ]);
    let ctx = context(&fake.base_url(), steps, runtime, &sink);
    // The user types nothing: the input stays open and silent.
    let (_keep_open, input) = tokio::io::duplex(64);
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let run = text::run(Conversation::new(ctx), tokio::io::BufReader::new(input), &mut out, false);
    // The session does not end by itself after the timer (the burst waits for the user), so
    // stop watching once the transition was spoken.
    let _ = tokio::time::timeout(Duration::from_secs(4), run).await;
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out, "agent> Quiz time!\nagent> Time is up! Let's wrap up.\n");
    let steps: Vec<String> = sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::StepChange { step_id, .. } => Some(step_id),
            _ => None,
        })
        .collect();
    assert_eq!(steps, ["s", "t", "b"]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let request = fake.chat_requests()[0].json().unwrap();
    let system = request["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Ask how they liked it.") && system.contains("Move the conversation on"), "{system}");
}

#[tokio::test]
async fn an_llm_failing_mid_stream_gives_an_error_event_and_the_session_goes_on() {
    let fake = openai::start(
        OpenAiScript::new()
            .chat(ChatScript::text(["Hello, ", "I am ", "your host ", "today."]).cut_after(2))
            .chat(ChatScript::error(503))
            .chat(ChatScript::text(["Second answer."])),
    );
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let sink = CollectSink::default();
    let steps = json!([
        {"id": "s", "type": "start", "command": "Greet the user.", "nextStepIds": {"next": "o"}},
        {"id": "o", "type": "opentalk", "command": "Chat."}
    ]);
    let ctx = context(&fake.base_url(), steps, runtime, &sink);
    let mut out = Vec::new();
    let input = tokio::io::BufReader::new(&b"What is the capital of France?\n"[..]);
    tokio::time::timeout(Duration::from_secs(20), text::run(Conversation::new(ctx), input, &mut out, false))
        .await
        .expect("console ended")
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    // The cut reply said what it had; the 503 was retried once, transparently.
    assert!(out.starts_with("agent> Hello, "), "{out}");
    assert!(out.ends_with("agent> Second answer.\n"), "{out}");
    assert_eq!(fake.chat_requests().len(), 3);
    let errors = sink.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorCode::LlmFailed);
    assert!(!errors[0].1.contains("sk-console-1"));
}

#[tokio::test]
async fn a_wrong_key_is_reported_without_the_key_and_the_session_ends_cleanly() {
    let fake = openai::start(OpenAiScript::new().api_key("sk-the-right-one"));
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let sink = CollectSink::default();
    let steps = json!([{"id": "s", "type": "start", "command": "Greet.", "nextStepIds": {"next": "o"}},
                       {"id": "o", "type": "opentalk"}]);
    let ctx = context(&fake.base_url(), steps, runtime, &sink);
    let mut out = Vec::new();
    let input = tokio::io::BufReader::new(&b"hello\n"[..]);
    tokio::time::timeout(Duration::from_secs(20), text::run(Conversation::new(ctx), input, &mut out, false))
        .await
        .expect("console ended")
        .unwrap();
    let errors = sink.errors();
    assert_eq!(errors.len(), 2, "opening and reply both failed: {errors:?}");
    assert!(
        errors.iter().all(|(code, m)| *code == ErrorCode::LlmFailed
            && m.contains("unauthorized")
            && !m.contains("sk-console-1"))
    );
    assert_eq!(fake.chat_requests().len(), 2, "401 is not retried");
}
