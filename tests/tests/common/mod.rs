//! Shared set-up of the end-to-end tests: a runtime over the plugins built from this repo.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use voiceblox_host::egress::NetworkPolicy;
use voiceblox_host::plugin::{
    CompileCache, PluginEngine, PluginRegistry, PluginRuntime, SandboxLimits, StreamError, StreamHandle, StreamOutput,
    Timeouts, default_plugins_dir, discovery::fixture_plugins_dir, types::Event,
};

/// A shared compile cache keeps repeated loads in one test binary fast.
pub fn cache() -> CompileCache {
    CompileCache::new(Some(std::env::temp_dir().join("voiceblox-test-cache")))
}

pub fn engine() -> PluginEngine {
    PluginEngine::new(SandboxLimits::default()).expect("engine")
}

/// Folder with the shipped plugins and the misbehaving fixture, copied side by side.
pub fn plugins_with_fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for source in [default_plugins_dir(), fixture_plugins_dir()] {
        for entry in std::fs::read_dir(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display())) {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_owned();
            // Only the misbehaving fixture: the others are refused on purpose (their own tests).
            if source == default_plugins_dir() || name == "misbehave.wasm" {
                std::fs::copy(&path, dir.path().join(name)).expect("copy");
            }
        }
    }
    dir
}

pub fn fixture(name: &str) -> PathBuf {
    fixture_plugins_dir().join(format!("{name}.wasm"))
}

/// A runtime over the shipped plugins + fixtures that may reach `allow` (fakes on loopback).
pub async fn runtime(allow: &[&str], env: &[(&str, &str)]) -> (PluginRuntime, tempfile::TempDir) {
    runtime_with_timeouts(allow, env, Timeouts::default()).await
}

/// [`runtime`] with custom I/O timeouts.
pub async fn runtime_with_timeouts(
    allow: &[&str],
    env: &[(&str, &str)],
    timeouts: Timeouts,
) -> (PluginRuntime, tempfile::TempDir) {
    runtime_with(allow, env, timeouts, SandboxLimits::default()).await
}

/// [`runtime`] with custom sandbox limits.
pub async fn runtime_with_limits(allow: &[&str], limits: SandboxLimits) -> (PluginRuntime, tempfile::TempDir) {
    runtime_with(allow, &[], Timeouts::default(), limits).await
}

async fn runtime_with(
    allow: &[&str],
    env: &[(&str, &str)],
    timeouts: Timeouts,
    limits: SandboxLimits,
) -> (PluginRuntime, tempfile::TempDir) {
    runtime_in(plugins_with_fixtures(), allow, env, timeouts, limits).await
}

/// A runtime over the plugins in `dir` (all of which must load), kept alive with it.
pub async fn runtime_in(
    dir: tempfile::TempDir,
    allow: &[&str],
    env: &[(&str, &str)],
    timeouts: Timeouts,
    limits: SandboxLimits,
) -> (PluginRuntime, tempfile::TempDir) {
    let engine = PluginEngine::new(limits).expect("engine");
    let registry = PluginRegistry::load_dir(&engine, &cache(), dir.path()).await;
    assert!(
        registry.failures().is_empty(),
        "{:?}",
        registry.failures().iter().map(|f| f.to_string()).collect::<Vec<_>>()
    );
    let mut policy = NetworkPolicy::default();
    for host in allow {
        policy = policy.allow(voiceblox_host::egress::HostPattern::parse(host).expect("pattern"));
    }
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let runtime = PluginRuntime::new(registry, policy, timeouts)
        .expect("runtime")
        .with_env(Arc::new(move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())));
    (runtime, dir)
}

/// An LLM request holding one user message.
pub fn llm_request(text: &str) -> voiceblox_host::plugin::OpenRequest {
    use voiceblox_host::plugin::llm;
    voiceblox_host::plugin::OpenRequest::Llm(llm::Request {
        messages: vec![llm::Message {
            role: llm::Role::User,
            content: text.into(),
            tool_calls: vec![],
            tool_call_id: None,
        }],
        tools: vec![],
        temperature: None,
        max_tokens: None,
        extras: "{}".into(),
    })
}

/// A 16 kHz STT request: interim results and the endpointing pause as given, nothing else asked.
pub fn stt_request(interim_results: bool, endpointing_ms: Option<u32>) -> voiceblox_host::plugin::OpenRequest {
    voiceblox_host::plugin::OpenRequest::Stt(voiceblox_host::plugin::stt::Request {
        sample_rate: 16_000,
        interim_results,
        detect_language: false,
        diarization: false,
        keyterms: vec![],
        endpointing_ms,
        options: "{}".into(),
    })
}

/// Collects a stream's events until it ends.
pub async fn collect(stream: &mut StreamHandle) -> (Vec<Event>, Result<(), StreamError>) {
    let mut events = Vec::new();
    let timeout = std::time::Duration::from_secs(20);
    loop {
        match tokio::time::timeout(timeout, stream.next()).await.expect("stream did not end within 20 s") {
            Some(StreamOutput::Event(event)) => events.push(event),
            Some(StreamOutput::Finished) => return (events, Ok(())),
            Some(StreamOutput::Failed(error)) => return (events, Err(error)),
            None => panic!("stream closed without Finished/Failed"),
        }
    }
}

/// A runtime that may reach a fake on loopback `addr`, with `env` as the provider environment.
pub async fn runtime_for_fake(addr: std::net::SocketAddr, env: &[(&str, &str)]) -> (PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", addr.port());
    runtime(&[&allow], env).await
}

/// The next event of `stream`, failing the test on an error or a stream that ends first.
pub async fn next_event(stream: &mut StreamHandle) -> Event {
    match tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await.expect("no event within 10 s") {
        Some(StreamOutput::Event(event)) => event,
        other => panic!("{other:?}"),
    }
}

/// The TTS audio among `events`, all of it at `rate`.
pub fn tts_pcm(events: &[Event], rate: u32) -> Vec<u8> {
    let mut pcm = Vec::new();
    for event in events {
        if let Event::Tts(voiceblox_host::plugin::types::TtsEvent::Audio(audio)) = event {
            assert_eq!(audio.sample_rate, rate);
            pcm.extend_from_slice(&audio.pcm);
        }
    }
    pcm
}
