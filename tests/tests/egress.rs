//! Every caller that sends requests out goes through the egress, and an empty grant blocks
//! each of them before a byte leaves: plugin HTTP requests, plugin WebSockets, the webhook
//! step, the post-call webhook, MCP servers and Exa search. Each target is a local fake on
//! loopback that the operator did not allow, and each fake checks it received nothing.

use crate::common;

use std::sync::Arc;

use serde_json::json;
use voiceblox_host::config::AgentConfig;
use voiceblox_host::config::secret::ApiKey;
use voiceblox_host::config::tools::{ExaConfig, McpAuthType, McpServerConfig};
use voiceblox_host::egress::{Egress, NetworkPolicy, PolicyError};
use voiceblox_host::events::{AgentEvent, CollectSink, ErrorCode};
use voiceblox_host::flow::tools::ToolError;
use voiceblox_host::flow::tools::exa::ExaSearch;
use voiceblox_host::flow::tools::mcp::{McpServer, McpTimeouts};
use voiceblox_host::flow::webhook::{self, WebhookError};
use voiceblox_host::flow::{Conversation, FlowContext, Toolbox};
use voiceblox_host::plugin::{ProviderSettings, StreamError};
use voiceblox_tests::fakes::exa::ExaFake;
use voiceblox_tests::fakes::mcp::{McpAuth, McpFake};
use voiceblox_tests::fakes::reflector::Reflector;
use voiceblox_tests::fakes::webhook::WebhookReceiver;

/// The defaults: provider hosts on public addresses; nothing on loopback.
fn egress() -> Egress {
    Egress::new(Arc::new(NetworkPolicy::default()), Default::default()).expect("egress")
}

fn misbehave(mode: &str, base: &str) -> ProviderSettings {
    ProviderSettings {
        provider: "misbehave".into(),
        model: mode.into(),
        base_url: Some(base.into()),
        ..Default::default()
    }
}

fn is_private_denial(error: &StreamError) -> bool {
    matches!(error, StreamError::Denied { source: PolicyError::PrivateAddress { .. }, .. })
}

#[tokio::test]
async fn plugin_http_requests() {
    let reflector = Reflector::start();
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let mut stream =
        runtime.open(&misbehave("reflect", &reflector.base_url()), common::llm_request("x")).await.unwrap();
    let (_, result) = common::collect(&mut stream).await;
    let error = result.unwrap_err();
    assert!(is_private_denial(&error), "{error}");
    assert!(reflector.requests().is_empty());
}

#[tokio::test]
async fn plugin_websockets() {
    let reflector = Reflector::start();
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let settings = misbehave("ws-reflect", &reflector.base_url());
    let mut stream = runtime.open(&settings, common::llm_request("x")).await.unwrap();
    let (_, result) = common::collect(&mut stream).await;
    let error = result.unwrap_err();
    assert!(is_private_denial(&error), "{error}");
    assert!(reflector.requests().is_empty() && reflector.frames().is_empty());
}

#[tokio::test]
async fn the_webhook_step() {
    let hooks = WebhookReceiver::start(vec![200]);
    let error = webhook::post(&egress(), &hooks.url("/step"), &json!({"conversation": []})).await.unwrap_err();
    assert!(matches!(error, WebhookError::Denied { source: PolicyError::PrivateAddress { .. }, .. }), "{error}");
    assert!(hooks.received("/step").is_empty());
}

#[tokio::test]
async fn the_post_call_webhook() {
    let hooks = WebhookReceiver::start(vec![200]);
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let config = json!({
        "agentName": "Egress",
        "instructions": "Be brief.",
        "llm": {"provider": "openai", "model": "gpt-4.1-mini"},
        "tts": {"provider": "openai", "model": "gpt-4o-mini-tts"},
        "stt": {"provider": "deepgram", "model": "nova-3"},
        "steps": [{"id": "s", "type": "start", "command": "Hi.", "isLiteral": true}],
        "postCall": {"webhookUrl": hooks.url("/after")},
    });
    let config = AgentConfig::from_json(&config.to_string()).expect("config");
    let sink = CollectSink::default();
    let ctx = Arc::new(FlowContext::new(Arc::new(config), runtime, Toolbox::default(), Arc::new(sink.clone())));
    Conversation::new(ctx).post_call().await;
    let failed = sink.events().into_iter().find_map(|event| match event {
        AgentEvent::Error { code: ErrorCode::PostCallFailed, message } => Some(message),
        _ => None,
    });
    assert!(failed.as_deref().is_some_and(|m| m.contains("non-public address")), "{failed:?}");
    assert!(hooks.received("/after").is_empty());
}

#[tokio::test]
async fn mcp_servers() {
    let fake = McpFake::start(McpAuth::None);
    let config = McpServerConfig {
        server_url: fake.url(),
        auth_type: McpAuthType::None,
        auth_value: None,
        selected_tools: None,
    };
    let error = McpServer::connect(&config, &egress(), McpTimeouts::default()).await.unwrap_err();
    assert!(matches!(&error, ToolError::Denied(m) if m.contains("non-public address")), "{error}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn exa_search() {
    let fake = ExaFake::start(Some("k"), Vec::new());
    let config = ExaConfig { api_key: Some(ApiKey::new("k")), num_results: None };
    let error = ExaSearch::new(&config, &|_| None, Some(&fake.base_url()), &egress()).unwrap_err();
    assert!(matches!(&error, ToolError::Denied(m) if m.contains("non-public address")), "{error}");
    assert!(fake.search_requests().is_empty());
}
