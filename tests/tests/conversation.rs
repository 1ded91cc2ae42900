//! The step engine end to end, in text: a scripted conversation through every step type and
//! both branch kinds, with the LLM served by the real OpenAI plugin against the OpenAI fake,
//! and webhooks received by a local HTTP server.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use voiceblox_host::config::AgentConfig;
use voiceblox_host::events::{AgentEvent, AgentState, CollectSink, ErrorCode};
use voiceblox_host::flow::{Conversation, FlowContext, Output, Toolbox};
use voiceblox_host::transport::{LinkError, UserLink};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};
use voiceblox_tests::fakes::webhook::WebhookReceiver;

const KEY: &str = "sk-flow-test-1234";

/// Runs the conversation's current turn to its end; the words it said.
async fn words(conversation: &mut Conversation) -> (String, bool) {
    let mut said = String::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), conversation.next()).await.expect("turn did not end") {
            Output::Text(text) => said.push_str(&text),
            Output::Done { ended } => {
                conversation.commit_spoken(None);
                return (said, ended);
            }
        }
    }
}

fn step_changes(events: &[AgentEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::StepChange { step_id, step_type } => Some((step_id.clone(), step_type.clone())),
            _ => None,
        })
        .collect()
}

fn config(llm_base: &str, hooks: &WebhookReceiver) -> AgentConfig {
    let json = json!({
        "agentName": "Flow test",
        "instructions": "You are Ava from Acme.",
        "language": "en-US",
        "llm": {"model": "openai/gpt-4.1-mini", "provider": "openai", "apiKey": KEY, "baseURL": llm_base},
        "steps": [
            {"id": "start", "type": "start", "command": "Hi, I'm Ava. What can I do for you?", "isLiteral": true,
             "nextStepIds": {"next": "discover"}},
            {"id": "discover", "type": "burst", "rounds": 1, "command": "Find out what they need.",
             "nextStepIds": {"next": "route"}},
            {"id": "route", "type": "categorize", "command": "Classify the request.",
             "categories": ["Billing", "Technical"],
             "evaluationLlm": {"model": "gpt-4.1-nano", "provider": "openai", "apiKey": KEY, "baseURL": llm_base},
             "nextStepIds": {"Billing": "billing", "Technical": "tech"}},
            {"id": "billing", "type": "opentalk", "command": "Help with the bill.", "nextStepIds": {"next": "resolved"}},
            {"id": "tech", "type": "timer", "duration": 30, "command": "Troubleshoot.", "nextStepIds": {"next": "bye"}},
            {"id": "resolved", "type": "ifelse", "conditionText": "The user's problem was solved",
             "nextStepIds": {"true": "log", "false": "tech"}},
            {"id": "log", "type": "webhook", "webhookUrl": hooks.url("/step"), "nextStepIds": {"next": "bye"}},
            {"id": "bye", "type": "end", "command": "Thanks for calling Acme. Goodbye!", "isLiteral": true}
        ],
        "postCall": {
            "webhookUrl": hooks.url("/post-call"),
            "command": "A refund counts as promised only if the agent said so.",
            "structuredOutput": [
                {"name": "issue", "type": "enum", "options": ["double charge", "outage"]},
                {"name": "refundPromised", "type": "boolean"}
            ]
        }
    });
    AgentConfig::from_json(&json.to_string()).expect("config")
}

/// The billing path's LLM answers: the category, a reply, `step_complete`, then the verdict.
fn billing_path(category: &str, verdict: &str) -> OpenAiScript {
    OpenAiScript::new()
        .chat(ChatScript::text([category]))
        .chat(ChatScript::text(["Let's look at the bill."]))
        .chat(ChatScript::new().tool_call("c", "step_complete", "{}"))
        .chat(ChatScript::text([verdict]))
}

/// A conversation over [`config`] (post-call off) with its event sink.
async fn session(
    fake: &openai::OpenAiFake,
    hooks: &WebhookReceiver,
    allow: &str,
) -> (Conversation, CollectSink, tempfile::TempDir) {
    let (runtime, dir) = common::runtime(&[allow], &[]).await;
    let sink = CollectSink::default();
    let mut config = config(&fake.base_url(), hooks);
    config.post_call = None;
    let ctx = Arc::new(FlowContext::new(Arc::new(config), runtime, Toolbox::default(), Arc::new(sink.clone())));
    (Conversation::new(ctx), sink, dir)
}

#[tokio::test]
async fn a_scripted_conversation_walks_every_step_type_and_both_branch_kinds() {
    let fake = openai::start(
        OpenAiScript::new()
            .api_key(KEY)
            // 1: categorize (evaluation LLM)
            .chat(ChatScript::text(["Billing"]))
            // 2: the reply under the billing opentalk
            .chat(ChatScript::text(["Sure. ", "What looks wrong on your bill?"]).with_usage(120, 9))
            // 3: the opentalk is complete
            .chat(ChatScript::new().tool_call("call_1", "step_complete", "{}"))
            // 4: ifelse → true → webhook → end (literal)
            .chat(ChatScript::text(["true"]))
            // 5: Structured Output
            .chat(ChatScript::text([r#"{"issue": "double charge", "refundPromised": false}"#])),
    );
    let hooks = WebhookReceiver::start(vec![200]);
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let sink = CollectSink::default();
    let config = Arc::new(config(&fake.base_url(), &hooks));
    let ctx = Arc::new(FlowContext::new(config, runtime, Toolbox::default(), Arc::new(sink.clone())));
    let mut conversation = Conversation::new(ctx);

    conversation.start();
    assert_eq!(words(&mut conversation).await, ("Hi, I'm Ava. What can I do for you?".into(), false));
    assert_eq!(conversation.watcher().current().unwrap().id, "discover");
    assert!(fake.chat_requests().is_empty(), "a literal opening needs no LLM");

    conversation.user_turn("I was charged twice this month.");
    assert_eq!(words(&mut conversation).await, ("Sure. What looks wrong on your bill?".into(), false));
    assert_eq!(conversation.watcher().current().unwrap().id, "billing");

    conversation.user_turn("Never mind, I see it was a refund. All good now.");
    assert_eq!(words(&mut conversation).await, ("Thanks for calling Acme. Goodbye!".into(), true));
    assert!(conversation.has_ended());
    let structured = conversation.post_call().await.expect("structured output");
    assert_eq!(Value::Object(structured), json!({"issue": "double charge", "refundPromised": false}));

    let events = sink.events();
    let steps: Vec<String> = step_changes(&events).into_iter().map(|(id, _)| id).collect();
    assert_eq!(steps, ["start", "discover", "route", "billing", "resolved", "log", "bye"]);
    assert_eq!(step_changes(&events)[2].1, "categorize");

    // What each LLM request carried.
    let requests: Vec<Value> = fake.chat_requests().iter().map(|r| r.json().unwrap()).collect();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[0]["model"], "gpt-4.1-nano", "the step's evaluationLlm judges the branch");
    let categorize_prompt = requests[0]["messages"][1]["content"].as_str().unwrap();
    assert!(categorize_prompt.contains("- Billing\n- Technical"), "{categorize_prompt}");
    assert!(categorize_prompt.contains("User: I was charged twice this month."));
    assert_eq!(requests[1]["model"], "gpt-4.1-mini");
    let system = requests[1]["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("You are Ava from Acme.") && system.contains("Help with the bill."), "{system}");
    let tools: Vec<&str> =
        requests[1]["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(tools, ["step_complete"], "opentalk offers step_complete");
    assert!(requests[3]["messages"][1]["content"].as_str().unwrap().contains("The user's problem was solved"));
    let extraction = requests[4]["messages"][0]["content"].as_str().unwrap();
    assert!(extraction.ends_with("A refund counts as promised only if the agent said so."), "{extraction}");

    // The webhook step got the conversation so far; the post-call webhook all of it.
    let step_hook = hooks.received("/step");
    assert_eq!(step_hook.len(), 1);
    let body = step_hook[0].json().unwrap();
    assert_eq!(body["stepId"], "log");
    let lines: Vec<(&str, &str)> = body["conversation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert_eq!(lines[0], ("assistant", "Hi, I'm Ava. What can I do for you?"));
    assert_eq!(lines[1], ("user", "I was charged twice this month."));
    assert_eq!(lines.last().unwrap().0, "user");
    let post = hooks.received("/post-call");
    assert_eq!(post.len(), 1);
    let body = post[0].json().unwrap();
    assert_eq!(body["structuredOutput"], json!({"issue": "double charge", "refundPromised": false}));
    let conversation_lines = body["conversation"].as_array().unwrap();
    assert_eq!(conversation_lines.last().unwrap()["text"], "Thanks for calling Acme. Goodbye!");
    assert!(conversation_lines.iter().all(|e| e["timestamp"].as_str().unwrap().ends_with('Z')));
    assert!(!serde_json::to_string(&events).unwrap().contains(KEY), "no event carries the key");
}

#[tokio::test]
async fn unusable_evaluation_answers_take_the_default_branch_with_an_error_event() {
    let fake = openai::start(billing_path("Weather", "maybe"));
    let hooks = WebhookReceiver::start(vec![200]);
    let (mut conversation, sink, _dir) = session(&fake, &hooks, "127.0.0.1").await;
    conversation.start();
    words(&mut conversation).await;
    conversation.user_turn("Hello?");
    assert_eq!(words(&mut conversation).await.0, "Let's look at the bill.");
    assert_eq!(conversation.watcher().current().unwrap().id, "billing", "unknown answer → first category");
    conversation.user_turn("Done.");
    // "maybe" is no verdict: false → the tech timer step, which the agent introduces.
    let (_, ended) = words(&mut conversation).await;
    assert!(!ended);
    assert_eq!(conversation.watcher().current().unwrap().id, "tech");
    let codes: Vec<ErrorCode> = sink.errors().into_iter().map(|(code, _)| code).collect();
    assert_eq!(codes, [ErrorCode::EvaluationFailed, ErrorCode::EvaluationFailed]);
}

#[tokio::test]
async fn a_failing_webhook_is_reported_and_the_call_goes_on() {
    let fake = openai::start(billing_path("Billing", "true"));
    let hooks = WebhookReceiver::start(vec![503]);
    let (mut conversation, sink, _dir) = session(&fake, &hooks, "127.0.0.1").await;
    conversation.start();
    words(&mut conversation).await;
    conversation.user_turn("My bill.");
    words(&mut conversation).await;
    conversation.user_turn("Solved, thanks.");
    assert_eq!(words(&mut conversation).await, ("Thanks for calling Acme. Goodbye!".into(), true));
    assert_eq!(hooks.received("/step").len(), 1);
    let errors = sink.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, ErrorCode::WebhookFailed);
    assert!(errors[0].1.contains("503"), "{errors:?}");
}

#[tokio::test]
async fn a_webhook_to_a_private_address_is_refused_unless_the_operator_allows_it() {
    let fake = openai::start(billing_path("Billing", "true"));
    let hooks = WebhookReceiver::start(vec![200]);
    // Only the LLM fake's port is allowed: the webhook's port on loopback is not.
    let (mut conversation, sink, _dir) = session(&fake, &hooks, &format!("127.0.0.1:{}", fake.addr().port())).await;
    conversation.start();
    words(&mut conversation).await;
    conversation.user_turn("My bill.");
    words(&mut conversation).await;
    conversation.user_turn("Solved.");
    assert!(words(&mut conversation).await.1);
    assert!(hooks.received("/step").is_empty(), "nothing reached the private address");
    let errors = sink.errors();
    assert_eq!(errors[0].0, ErrorCode::WebhookFailed);
    assert!(errors[0].1.contains("non-public address"), "{errors:?}");
}

#[tokio::test]
async fn the_llm_calls_an_mcp_tool_and_exa_search_with_events_and_the_results_in_its_history() {
    use voiceblox_tests::fakes::exa::{ExaFake, ExaPage};
    use voiceblox_tests::fakes::mcp::{McpAuth, McpFake};
    let mcp = McpFake::start(McpAuth::Bearer("mcp-token-1".into()));
    let exa = ExaFake::start(
        Some("exa-key-1"),
        vec![ExaPage::new("UPS tracking", "https://ups.example/t", "Track parcels.")],
    );
    let fake = openai::start(
        OpenAiScript::new()
            .chat(ChatScript::new().tool_call("call_a", "lookup_order", r#"{"order_id": "42"}"#))
            .chat(ChatScript::new().tool_call("call_b", "web_search", r#"{"query": "UPS tracking"}"#))
            .chat(ChatScript::text(["Your order shipped and arrives Friday."])),
    );
    let (runtime, _dir) =
        common::runtime(&["127.0.0.1"], &[("EXA_API_KEY", "exa-key-1"), ("EXA_BASE_URL", &exa.base_url())]).await;
    let json = json!({
        "instructions": "You are an order assistant.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "apiKey": KEY, "baseURL": fake.base_url()},
        "mcpServers": [{"serverUrl": mcp.url(), "authType": "bearer", "authValue": "mcp-token-1", "selectedTools": ["lookup_order"]}],
        "exaConfigs": [{"numResults": 2}],
        "steps": [
            {"id": "s", "type": "start", "command": "How can I help?", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Help with orders."}
        ]
    });
    let config = Arc::new(AgentConfig::from_json(&json.to_string()).unwrap());
    let sink = CollectSink::default();
    let tools = voiceblox_host::flow::setup::tools(&config, &runtime, None, &sink).await;
    assert_eq!(tools.names(), ["lookup_order", "web_search"], "only the selected MCP tool, plus Exa");
    let ctx = Arc::new(FlowContext::new(config, runtime, tools, Arc::new(sink.clone())));
    let mut conversation = Conversation::new(ctx);
    conversation.start();
    words(&mut conversation).await;
    conversation.user_turn("Where is order 42?");
    assert_eq!(words(&mut conversation).await.0, "Your order shipped and arrives Friday.");

    let calls = mcp.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "lookup_order");
    assert_eq!(exa.search_requests()[0].json().unwrap()["query"], "UPS tracking");
    let tool_events: Vec<Value> = sink
        .events()
        .iter()
        .filter(|e| matches!(e, AgentEvent::ToolCall { .. } | AgentEvent::ToolResult { .. }))
        .map(|e| serde_json::from_str(&e.to_json()).unwrap())
        .collect();
    assert_eq!(tool_events.len(), 4);
    assert_eq!(
        tool_events[0],
        json!({"type": "tool_call", "callId": "call_a", "toolName": "lookup_order", "source": "mcp", "arguments": {"order_id": "42"}})
    );
    assert_eq!(tool_events[1]["ok"], true);
    assert!(tool_events[1]["result"].as_str().unwrap().starts_with("Order 42: shipped"));
    assert_eq!(tool_events[2]["source"], "exa");
    assert!(tool_events[3]["result"].as_str().unwrap().contains("https://ups.example/t"));

    // The tool results went back to the LLM as tool messages answering each call.
    let requests: Vec<Value> = fake.chat_requests().iter().map(|r| r.json().unwrap()).collect();
    let offered: Vec<&str> =
        requests[0]["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(offered, ["lookup_order", "web_search", "step_complete"]);
    let last = requests[2]["messages"].as_array().unwrap();
    let tool_messages: Vec<&Value> = last.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_messages.len(), 2);
    assert_eq!(tool_messages[0]["tool_call_id"], "call_a");
    assert!(tool_messages[0]["content"].as_str().unwrap().contains("arriving Friday"));
    assert!(
        !serde_json::to_string(&sink.events().iter().map(|e| e.to_json()).collect::<Vec<_>>())
            .unwrap()
            .contains("mcp-token-1")
    );
}

#[tokio::test]
async fn tool_calls_stop_after_the_step_limit_and_an_unreachable_mcp_server_is_reported() {
    let fake = openai::start(
        OpenAiScript::new()
            .chat(ChatScript::new().tool_call("c1", "step_complete_not", "{}"))
            .chat(ChatScript::new().tool_call("c2", "nothing", "{}"))
            .chat(ChatScript::new().tool_call("c3", "nada", "{}"))
            .chat(ChatScript::text(["Let me just answer."])),
    );
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let json = json!({
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "apiKey": KEY, "baseURL": fake.base_url()},
        "mcpServers": [{"serverUrl": "http://127.0.0.1:9/mcp", "authType": "none"}],
        "steps": [{"id": "s", "type": "start", "command": "Hi.", "isLiteral": true, "nextStepIds": {"next": "o"}},
                  {"id": "o", "type": "opentalk"}]
    });
    let config = Arc::new(AgentConfig::from_json(&json.to_string()).unwrap());
    let sink = CollectSink::default();
    let tools = voiceblox_host::flow::setup::tools(&config, &runtime, None, &sink).await;
    assert!(tools.is_empty());
    assert!(sink.events().iter().any(
        |e| matches!(e, AgentEvent::Error { code: ErrorCode::ToolFailed, message } if message.contains("127.0.0.1:9"))
    ));
    let ctx = Arc::new(FlowContext::new(config, runtime, tools, Arc::new(sink.clone())));
    let mut conversation = Conversation::new(ctx);
    conversation.start();
    words(&mut conversation).await;
    conversation.user_turn("Hello");
    assert_eq!(words(&mut conversation).await.0, "Let me just answer.");
    let requests: Vec<Value> = fake.chat_requests().iter().map(|r| r.json().unwrap()).collect();
    assert_eq!(requests.len(), 4, "three tool rounds, then one without tools");
    assert!(requests[3].get("tools").is_none_or(|t| t.as_array().is_some_and(|a| a.is_empty())), "{}", requests[3]);
    let failed: Vec<bool> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolResult { ok, .. } => Some(*ok),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [false, false, false], "unknown tools are answered with errors");
}

#[tokio::test]
async fn an_end_step_without_a_command_ends_without_asking_the_llm_for_words() {
    let fake = openai::start(OpenAiScript::new().api_key(KEY).chat(ChatScript::text(["Noted."])));
    let (mut conversation, sink, _dir) = greeted(
        &fake,
        json!([
            {"id": "ask", "type": "burst", "rounds": 2, "command": "Take the message.", "nextStepIds": {"next": "bye"}},
            {"id": "bye", "type": "end"}
        ]),
    )
    .await;
    conversation.user_turn("Tell Bob I called.");
    assert_eq!(words(&mut conversation).await, ("Noted.".into(), false));
    conversation.user_turn("Thanks.");
    // The burst's rounds are over: the end step has nothing to say, so nothing is said.
    assert_eq!(words(&mut conversation).await, (String::new(), true));
    assert!(conversation.has_ended());
    assert_eq!(fake.chat_requests().len(), 1, "only the burst's reply asked the LLM");
    assert_eq!(step_changes(&sink.events()).last().unwrap().0, "bye");
}

/// A conversation on `fake` that opens with a literal "Hello!" and goes on to `steps` (the
/// first of them follows the start), past its greeting.
async fn greeted(fake: &openai::OpenAiFake, steps: Value) -> (Conversation, CollectSink, tempfile::TempDir) {
    greeted_on(fake, steps, None).await
}

/// [`greeted`] on the user side `link` (a phone line, say).
async fn greeted_on(
    fake: &openai::OpenAiFake,
    steps: Value,
    link: Option<Arc<dyn UserLink>>,
) -> (Conversation, CollectSink, tempfile::TempDir) {
    let (runtime, dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let first = steps[0]["id"].clone();
    let mut all = vec![json!({"id": "start", "type": "start", "command": "Hello!", "isLiteral": true,
                              "nextStepIds": {"next": first}})];
    all.extend(steps.as_array().cloned().unwrap_or_default());
    let json = json!({
        "instructions": "You are Ava.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "apiKey": KEY, "baseURL": fake.base_url()},
        "steps": all,
    });
    let config = Arc::new(AgentConfig::from_json(&json.to_string()).unwrap());
    let sink = CollectSink::default();
    let mut ctx = FlowContext::new(config, runtime, Toolbox::default(), Arc::new(sink.clone()));
    if let Some(link) = link {
        ctx = ctx.with_link(link);
    }
    let mut conversation = Conversation::new(Arc::new(ctx));
    conversation.start();
    assert_eq!(words(&mut conversation).await, ("Hello!".into(), false));
    (conversation, sink, dir)
}

/// A burst of one round, then an opentalk where every user turn is answered in place.
async fn preemptive_session(
    script: OpenAiScript,
) -> (Conversation, CollectSink, openai::OpenAiFake, tempfile::TempDir) {
    let fake = openai::start(script.api_key(KEY));
    let steps = json!([
        {"id": "ask", "type": "burst", "rounds": 1, "command": "Ask what they need.", "nextStepIds": {"next": "talk"}},
        {"id": "talk", "type": "opentalk", "command": "Help them."}
    ]);
    let (conversation, sink, dir) = greeted(&fake, steps).await;
    (conversation, sink, fake, dir)
}

async fn until_requests(fake: &openai::OpenAiFake, n: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while fake.chat_requests().len() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the LLM request arrives");
}

#[tokio::test]
async fn a_reply_started_ahead_is_the_turns_reply_when_the_words_match() {
    let (mut conversation, sink, fake, _dir) =
        preemptive_session(OpenAiScript::new().chat(ChatScript::text(["Two for ", "eight, done."]))).await;
    // The burst's round ends with this turn, so the step moves: a speculation must not enter
    // the next step before the turn is confirmed.
    conversation.preempt("A table for two at eight.");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!step_changes(&sink.events()).iter().any(|(id, _)| id == "talk"), "no step entered ahead");
    conversation.user_turn("A table for two at eight.");
    assert_eq!(words(&mut conversation).await, ("Two for eight, done.".into(), false));
    assert_eq!(fake.chat_requests().len(), 1, "one request: the speculation itself, let through");
    assert_eq!(step_changes(&sink.events()).last().unwrap().0, "talk");
    let stats = conversation.speculation_stats();
    assert_eq!((stats.started, stats.used), (1, 1));
}

#[tokio::test]
async fn a_reply_started_ahead_is_dropped_unheard_when_the_user_says_more() {
    let script = OpenAiScript::new()
        .chat(ChatScript::text(["Which day?"]))
        .chat(ChatScript::text(["Paris on Monday, noted."]))
        .chat(ChatScript::text(["Anything else?"]));
    let (mut conversation, _sink, fake, _dir) = preemptive_session(script).await;
    conversation.user_turn("I need a train.");
    assert_eq!(words(&mut conversation).await, ("Which day?".into(), false));

    // In the opentalk the turn stays put, so the speculation asks the LLM at once.
    conversation.preempt("To Paris");
    until_requests(&fake, 2).await;
    conversation.user_turn("To Paris on Monday");
    assert_eq!(words(&mut conversation).await, ("Anything else?".into(), false), "the fresh request's answer");
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 3);
    let last_user = |i: usize| {
        let body: Value = requests[i].json().unwrap();
        body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string()
    };
    assert_eq!((last_user(1), last_user(2)), ("To Paris".into(), "To Paris on Monday".into()));
    // The dropped reply is nowhere in the history.
    let history = conversation.history().transcript_text();
    assert!(!history.contains("Paris on Monday, noted") && history.contains("Anything else?"), "{history}");
    let stats = conversation.speculation_stats();
    assert_eq!((stats.started, stats.used), (1, 0));
}

/// A phone line that records the transfers asked of it.
#[derive(Default)]
struct PhoneLine {
    transfers: std::sync::Mutex<Vec<String>>,
}

impl UserLink for PhoneLine {
    fn publish_event(&self, _json: Vec<u8>) -> futures_util::future::BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn set_agent_state(&self, _state: AgentState) -> futures_util::future::BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn transfer(&self, to: &str, _dialtone: bool) -> futures_util::future::BoxFuture<'_, Result<(), LinkError>> {
        self.transfers.lock().unwrap().push(to.to_string());
        Box::pin(async { Ok(()) })
    }
}

fn transfer_steps() -> Value {
    json!([
        {"id": "ask", "type": "burst", "rounds": 1, "command": "Take the message.", "nextStepIds": {"next": "human"}},
        {"id": "human", "type": "transfer", "command": "Connecting you now.", "isLiteral": true,
         "transferTo": "tel:+15550100", "nextStepIds": {"next": "bye"}},
        {"id": "bye", "type": "end", "command": "Sorry, nobody is free. Goodbye!", "isLiteral": true}
    ])
}

#[tokio::test]
async fn a_transfer_step_says_its_line_and_hands_the_call_over() {
    let fake = openai::start(OpenAiScript::new().api_key(KEY));
    let line = Arc::new(PhoneLine::default());
    let (mut conversation, sink, _dir) = greeted_on(&fake, transfer_steps(), Some(line.clone())).await;
    conversation.user_turn("I want a person.");
    assert_eq!(words(&mut conversation).await, ("Connecting you now.".into(), true));
    assert_eq!(*line.transfers.lock().unwrap(), ["tel:+15550100"]);
    assert_eq!(step_changes(&sink.events()).last().unwrap().0, "human");
    assert_eq!(fake.chat_requests().len(), 0, "a literal line asks no LLM");
}

#[tokio::test]
async fn a_transfer_step_that_cannot_transfer_says_why_and_goes_on_to_its_next_step() {
    // A text session has no call to hand over.
    let fake = openai::start(OpenAiScript::new().api_key(KEY));
    let (mut conversation, sink, _dir) = greeted(&fake, transfer_steps()).await;
    conversation.user_turn("I want a person.");
    assert_eq!(words(&mut conversation).await, ("Connecting you now.Sorry, nobody is free. Goodbye!".into(), true));
    let errors: Vec<String> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Error { code: ErrorCode::TransferFailed, message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [
            "step human: the call could not be transferred to tel:+15550100: there is no call to transfer in a text session"
        ]
    );
    let steps: Vec<String> = step_changes(&sink.events()).into_iter().map(|(id, _)| id).collect();
    assert_eq!(steps, ["start", "ask", "human", "bye"]);
}

/// The main LLM fails before answering (503): its fallback takes the same request, the switch
/// is reported, and while the main one cools down the next turn goes straight to the fallback.
#[tokio::test]
async fn an_llm_that_cannot_serve_hands_the_request_to_its_fallback() {
    let (main, spare, mut conversation, _dir) = main_llm_fails_first(None, ChatScript::text(["Not asked."])).await;
    // The main LLM is cooling down: the next turn is the spare's at once.
    conversation.user_turn("How are you?");
    assert_eq!(words(&mut conversation).await, ("Still the spare.".into(), false));
    assert_eq!((main.chat_requests().len(), spare.chat_requests().len()), (1, 2));
}

/// With `fallbackCoolDownSecs: 0` the main LLM is not passed over: the next turn is its again.
#[tokio::test]
async fn without_a_cool_down_the_main_llm_takes_the_next_turn() {
    let (main, spare, mut conversation, _dir) =
        main_llm_fails_first(Some(0), ChatScript::text(["Main is back."])).await;
    conversation.user_turn("How are you?");
    assert_eq!(words(&mut conversation).await, ("Main is back.".into(), false));
    assert_eq!((main.chat_requests().len(), spare.chat_requests().len()), (2, 1));
}

/// A conversation whose main LLM answers its first request with 503 and its next with `then`:
/// the greeting is the spare's, the same request went to both, and the switch was reported.
async fn main_llm_fails_first(
    cool_down_secs: Option<u32>,
    then: ChatScript,
) -> (openai::OpenAiFake, openai::OpenAiFake, Conversation, tempfile::TempDir) {
    let main = openai::start(OpenAiScript::new().api_key(KEY).chat(ChatScript::error(503)).chat(then));
    let spare = openai::start(
        OpenAiScript::new()
            .api_key("sk-spare")
            .chat(ChatScript::text(["Hello from the spare."]))
            .chat(ChatScript::text(["Still the spare."])),
    );
    let (runtime, dir) = common::runtime(&["127.0.0.1"], &[]).await;
    let json = json!({
        "instructions": "You are Ava.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "apiKey": KEY, "baseURL": main.base_url(),
                "fallbackCoolDownSecs": cool_down_secs,
                "fallbacks": [{"model": "llama-3.3-70b", "provider": "openai", "apiKey": "sk-spare", "baseURL": spare.base_url()}]},
        "steps": [
            {"id": "start", "type": "start", "command": "Greet the user.", "nextStepIds": {"next": "talk"}},
            {"id": "talk", "type": "opentalk", "command": "Chat."}
        ],
    });
    let config = Arc::new(AgentConfig::from_json(&json.to_string()).unwrap());
    let sink = CollectSink::default();
    let mut conversation =
        Conversation::new(Arc::new(FlowContext::new(config, runtime, Toolbox::default(), Arc::new(sink.clone()))));
    conversation.start();
    assert_eq!(words(&mut conversation).await, ("Hello from the spare.".into(), false));
    let switches: Vec<(String, String, String)> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ProviderSwitch { kind, from, to, reason } => {
                assert!(reason.contains("unavailable"), "{reason}");
                Some((kind.clone(), from.clone(), to.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(switches, [("llm".into(), "openai/gpt-4.1-mini".into(), "openai/llama-3.3-70b".into())]);
    // The same request went to both.
    let first = main.chat_requests()[0].json().unwrap();
    let second = spare.chat_requests()[0].json().unwrap();
    assert_eq!(first["messages"], second["messages"]);
    assert_eq!(second["model"], "llama-3.3-70b");
    (main, spare, conversation, dir)
}
