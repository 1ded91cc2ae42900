//! A hostile plugin cannot get at keys: the placeholder is filled in only where a provider
//! protocol carries a key, a server that reflects the request hands the plugin nothing, which
//! variables feed a provider id is the operator's choice, and a newcomer claiming a shipped
//! provider id is refused.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use voiceblox_host::egress::{HostPattern, NetworkPolicy, Secret};
use voiceblox_host::plugin::types::{Event, Kind, LlmEvent};
use voiceblox_host::plugin::{
    PluginError, PluginRegistry, PluginRuntime, ProviderPolicy, ProviderSettings, StreamError, Timeouts,
    default_plugins_dir, provider_policy::ProviderEntry,
};
use voiceblox_tests::fakes::reflector::{Reflector, WsEnding};

const KEY: &str = "sk-Canary/Key+0123456789";

fn settings(mode: &str, base_url: Option<String>) -> ProviderSettings {
    ProviderSettings {
        provider: "misbehave".into(),
        model: mode.into(),
        api_key: Some(Secret::new(KEY)),
        base_url,
        ..Default::default()
    }
}

/// Every form the key could be seen in.
fn leaks(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains(&KEY.to_ascii_lowercase())
        || lower.contains("sk-canary%2fkey%2b0123456789")
        || lower.contains("0123456789")
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Llm(LlmEvent::TextDelta(text)) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

async fn run(runtime: &PluginRuntime, settings: &ProviderSettings) -> (Vec<Event>, Result<(), StreamError>) {
    let mut stream = runtime.open(settings, common::llm_request("hi")).await.expect("open");
    common::collect(&mut stream).await
}

#[tokio::test]
async fn the_key_never_stands_in_a_host_or_a_path() {
    // `*.wild.example.com` passes the policy, so only the placement rule stands in the way.
    let (runtime, _dir) = common::runtime(&["*.wild.example.com", "declared.example.com"], &[]).await;
    for (mode, part) in [("key-in-host", "host"), ("key-in-path", "path")] {
        let (_, result) = run(&runtime, &settings(mode, None)).await;
        let err = result.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StreamError::Contract { .. }), "{mode}: {text}");
        assert!(text.contains(&format!("URL's {part}")) && text.contains("header values"), "{mode}: {text}");
        assert!(!leaks(&text), "{mode}: {text}");
    }
}

/// A hostile server and a runtime whose plugins may reach it.
async fn reflector_and_runtime() -> (Reflector, PluginRuntime, tempfile::TempDir) {
    let reflector = Reflector::start();
    let (runtime, dir) = common::runtime(&[&format!("127.0.0.1:{}", reflector.port())], &[]).await;
    (reflector, runtime, dir)
}

#[tokio::test]
async fn a_server_that_reflects_the_request_shows_the_plugin_no_key() {
    let (reflector, runtime, _dir) = reflector_and_runtime().await;
    let (events, result) = run(&runtime, &settings("reflect", Some(reflector.base_url()))).await;
    result.expect("reflect finishes");
    let seen = texts(&events).concat();
    assert!(!leaks(&seen), "the plugin saw the key: {seen}");
    assert!(seen.contains("x-reflected-auth: Bearer [redacted]"), "{seen}");
    assert!(seen.contains("auth=Bearer [redacted]") && seen.contains("token=[redacted]"), "{seen}");
    // The body is sent as written: the placeholder in it was never filled in.
    assert!(seen.contains("body=body {{api-key}}"), "{seen}");
    // The provider did get the key, in the header and (encoded) in the query value.
    let sent = &reflector.requests()[0];
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(sent.query_param("token").as_deref(), Some(KEY));
    assert!(sent.uri.contains("token=sk-Canary%2FKey%2B0123456789"), "{}", sent.uri);
}

#[tokio::test]
async fn only_the_first_websocket_text_frame_takes_the_key_and_echoes_are_scrubbed() {
    let (reflector, runtime, _dir) = reflector_and_runtime().await;
    let (events, result) = run(&runtime, &settings("ws-reflect", Some(reflector.base_url()))).await;
    result.expect("ws-reflect finishes");
    assert_eq!(texts(&events), ["{\"first\": \"[redacted]\"}", "later {{api-key}}"]);
    assert_eq!(reflector.frames(), [format!("{{\"first\": \"{KEY}\"}}"), "later {{api-key}}".to_string()]);
    let handshake = &reflector.requests()[0];
    assert_eq!(handshake.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
}

#[tokio::test]
async fn a_websocket_closed_and_finished_in_one_batch_still_sends_its_close() {
    let (reflector, runtime, _dir) = reflector_and_runtime().await;
    let (_, result) = run(&runtime, &settings("ws-goodbye", Some(reflector.base_url()))).await;
    result.expect("ws-goodbye finishes");
    // The stream is over for its owner; the close reaches the server just after.
    let endings = wait_for_endings(&reflector, 1).await;
    assert_eq!(reflector.frames(), ["goodbye"]);
    assert_eq!(endings, [WsEnding::Closed(Some((4001, "done here".into())))]);

    // A plugin that finishes with its socket open gets it closed politely, not dropped.
    let (_, result) = run(&runtime, &settings("ws-abandon", Some(reflector.base_url()))).await;
    result.expect("ws-abandon finishes");
    let endings = wait_for_endings(&reflector, 2).await;
    assert!(matches!(endings[1], WsEnding::Closed(_)), "{endings:?}");
}

/// The reflector's WebSocket endings once there are `n` of them (the outcome, not its timing).
async fn wait_for_endings(reflector: &Reflector, n: usize) -> Vec<WsEnding> {
    let wait = async {
        loop {
            let endings = reflector.endings();
            if endings.len() >= n {
                return endings;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), wait).await.expect("the socket never ended")
}

/// A runtime over exactly `files` (from the shipped and fixture folders), with `env` as the
/// process environment and `providers` as the operator's provider policy.
async fn runtime_over(
    files: &[&Path],
    env: &[(&str, &str)],
    providers: ProviderPolicy,
) -> (PluginRuntime, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in files {
        std::fs::copy(file, dir.path().join(file.file_name().expect("name"))).expect("copy");
    }
    let registry = PluginRegistry::load_dir_with(&common::engine(), &common::cache(), dir.path(), &providers).await;
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let runtime = PluginRuntime::new(registry, NetworkPolicy::default(), Timeouts::default())
        .expect("runtime")
        .with_env(Arc::new(move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())))
        .with_provider_policy(providers);
    (runtime, dir)
}

fn shipped(name: &str) -> std::path::PathBuf {
    default_plugins_dir().join(format!("{name}.wasm"))
}

#[tokio::test]
async fn a_plugin_cannot_choose_to_read_the_hosts_settings_or_another_providers_key() {
    let impostor = common::fixture("impostor");
    let env = [("LIVEKIT_API_SECRET", "lk-secret-value"), ("VOICEBLOX_LISTEN", "x")];
    let (runtime, _dir) = runtime_over(&[&impostor], &env, ProviderPolicy::default()).await;
    assert!(runtime.registry().failures().is_empty());
    // Alone, it may serve `openai` (the operator put it there), but it declared
    // LIVEKIT_API_SECRET as its key and base URL variable: neither is read.
    let settings = ProviderSettings { provider: "openai".into(), model: "m".into(), ..Default::default() };
    assert_eq!(runtime.resolve_key(&settings, Kind::Llm).unwrap(), None);
    assert_eq!(runtime.resolve_base_url(&settings, Kind::Llm).unwrap(), None);
    assert_eq!(runtime.key_vars("openai"), ["OPENAI_API_KEY"]);
    let (events, result) = run(&runtime, &settings).await;
    result.unwrap();
    assert_eq!(texts(&events), ["key=None base_url=None"]);

    // The id's own variable is what it gets.
    let env = [("LIVEKIT_API_SECRET", "lk-secret-value"), ("OPENAI_API_KEY", "sk-from-env")];
    let (runtime, _dir) = runtime_over(&[&impostor], &env, ProviderPolicy::default()).await;
    assert_eq!(runtime.resolve_key(&settings, Kind::Llm).unwrap(), Some(Secret::new("sk-from-env")));

    // The operator maps other names explicitly.
    let entry = ProviderEntry { key_env: Some(vec!["CORP_OPENAI_TOKEN".into()]), ..Default::default() };
    let policy = ProviderPolicy::new([("openai".to_string(), entry)].into()).unwrap();
    let env = [("CORP_OPENAI_TOKEN", "sk-corp"), ("OPENAI_API_KEY", "sk-from-env")];
    let (runtime, _dir) = runtime_over(&[&impostor], &env, policy).await;
    assert_eq!(runtime.resolve_key(&settings, Kind::Llm).unwrap(), Some(Secret::new("sk-corp")));
}

#[tokio::test]
async fn a_newcomer_claiming_a_shipped_provider_id_is_refused_unless_pinned() {
    let files = [shipped("openai"), shipped("deepgram"), common::fixture("impostor")];
    let files: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let (runtime, _dir) = runtime_over(&files, &[], ProviderPolicy::default()).await;
    let failures = runtime.registry().failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let text = failures[0].to_string();
    assert!(matches!(failures[0], PluginError::ProviderTaken { .. }), "{text}");
    assert!(text.contains("impostor.wasm") && text.contains("first-party plugin openai"), "{text}");
    assert!(text.contains("[providers.openai] plugin = \"impostor.wasm\""), "{text}");
    let serving = runtime.registry().get("openai", Kind::Llm).expect("openai serves llm");
    assert!(serving.is_first_party() && serving.file_name() == "openai.wasm");
    assert!(runtime.registry().plugins().iter().all(|p| p.name() != "impostor"));

    // Pinned by the operator, the newcomer wins and the shipped plugin steps aside whole.
    let pin = ProviderEntry { plugin: Some("impostor.wasm".into()), ..Default::default() };
    let policy = ProviderPolicy::new([("openai".to_string(), pin)].into()).unwrap();
    let (runtime, _dir) = runtime_over(&files, &[], policy).await;
    assert_eq!(runtime.registry().get("openai", Kind::Llm).map(|p| p.name()), Some("impostor"));
    assert!(runtime.registry().get("openai", Kind::Tts).is_none());
    let text = runtime.registry().failures()[0].to_string();
    assert!(text.contains("openai.wasm") && text.contains("pins to impostor.wasm"), "{text}");
}

#[tokio::test]
async fn two_unpinned_third_party_claimants_serve_nobody() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a-impostor.wasm", "b-impostor.wasm"] {
        std::fs::copy(common::fixture("impostor"), dir.path().join(name)).unwrap();
    }
    let registry = PluginRegistry::load_dir(&common::engine(), &common::cache(), dir.path()).await;
    assert!(registry.get("openai", Kind::Llm).is_none());
    assert_eq!(registry.failures().len(), 2);
    for failure in registry.failures() {
        assert!(failure.to_string().contains("none of them is pinned or first-party"), "{failure}");
    }
}

#[tokio::test]
async fn names_that_would_drive_a_terminal_are_refused_and_quoted_inert() {
    let registry = {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(common::fixture("garbled"), dir.path().join("garbled.wasm")).unwrap();
        PluginRegistry::load_dir(&common::engine(), &common::cache(), dir.path()).await
    };
    let text = registry.failures()[0].to_string();
    assert!(matches!(registry.failures()[0], PluginError::BadDescription { .. }), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\n') && !text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("\\x1b[2J") && text.contains("\\nINFO") && text.contains("printable ASCII"), "{text}");
}

#[tokio::test]
async fn a_describe_that_never_returns_fails_like_a_stream_would() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(common::fixture("stuck"), dir.path().join("stuck.wasm")).unwrap();
    let registry = PluginRegistry::load_dir(&common::engine(), &common::cache(), dir.path()).await;
    let text = registry.failures()[0].to_string();
    assert!(matches!(registry.failures()[0], PluginError::Describe { .. }), "{text}");
    assert!(text.contains("describe() failed: plugin stuck exceeded its CPU deadline of 100 ms"), "{text}");
    assert!(!text.contains("backtrace") && !text.contains('\n'), "{text}");
}

#[test]
fn host_patterns_refuse_look_alikes() {
    assert!(HostPattern::parse("api.openai.com").is_ok());
    assert!(HostPattern::parse("аpi.openai.com").is_err());
}
