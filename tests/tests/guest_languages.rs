//! The contract works for guests not written in Rust: the example LLM adapters in
//! `examples/plugins/` — Python (componentize-py) and JavaScript (componentize-js) — are built
//! from source with their `build.sh`, loaded from a plugins folder, described, and then stream
//! a chat completion from the OpenAI fake and report its rate limit as a typed error.
//!
//! Needs `python3` (3.9+, with `venv`) and Node.js 20+ with `npm`, plus PyPI and the npm
//! registry on the first run: the toolchains are installed under `target/` and
//! `examples/plugins/javascript/node_modules`. A build is skipped while the component is newer
//! than its sources, and compiled components are cached under `target/tmp`, so reruns are fast.
//!
//! Each language is built and loaded once; both of its streams run on that one runtime.

mod common;

use std::path::Path;
use std::time::Instant;

use voiceblox_host::egress::{HostPattern, NetworkPolicy, Secret};
use voiceblox_host::plugin::types::{Event, FinishReason, Kind, LlmEvent, ProviderError, Usage};
use voiceblox_host::plugin::{
    CompileCache, OpenRequest, PluginEngine, PluginRegistry, PluginRuntime, ProviderSettings, SandboxLimits,
    StreamError, Timeouts, llm,
};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiFake, OpenAiScript};
use voiceblox_tests::guests::{Guest, JAVASCRIPT, PYTHON, build};

const MODEL: &str = "gpt-4o-mini";
const KEY: &str = "sk-test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugin_streams_a_chat_and_reports_a_rate_limit() {
    honours_the_contract(&PYTHON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_plugin_streams_a_chat_and_reports_a_rate_limit() {
    honours_the_contract(&JAVASCRIPT).await;
}

async fn honours_the_contract(guest: &Guest) {
    let started = Instant::now();
    let wasm = build(guest);
    let built = started.elapsed();

    let reply = ["Hel", "lo from ", guest.language, ": ünïcode ✓ 👋", "."];
    let fake = openai::start(
        OpenAiScript::new()
            .api_key(KEY)
            .chat(ChatScript::text(reply).with_usage(12, 5))
            .chat(ChatScript::error(429).retry_after(2)),
    );

    let (runtime, _plugins) = load(guest, &wasm, &fake).await;
    let loaded = started.elapsed();

    streams_a_chat(guest, &runtime, &fake, &reply.concat()).await;
    reports_a_rate_limit(guest, &runtime, &fake).await;

    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 2, "{}: one request per stream", guest.language);
    for request in &requests {
        assert_eq!(request.header("authorization"), Some("Bearer sk-test"), "{}: key filled in", guest.language);
    }
    eprintln!(
        "{}: build.sh {:.1} s, load {:.1} s, both streams {:.2} s",
        guest.language,
        built.as_secs_f64(),
        (loaded - built).as_secs_f64(),
        (started.elapsed() - loaded).as_secs_f64()
    );
}

/// A plugins folder holding only this guest's component, loaded into a runtime that may reach
/// the fake (and nothing else).
async fn load(guest: &Guest, wasm: &Path, fake: &OpenAiFake) -> (PluginRuntime, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(wasm, dir.path().join(guest.file)).expect("copy the component");
    // The host's default limits (64 MiB, 100 ms per call): the guests must run as shipped.
    // Measured: the components' memories start at 12.4 MiB (Python) and 9.1 MiB (JavaScript)
    // and a stream runs under a 14 MiB cap; no call took more than one 5 ms epoch tick.
    let engine = PluginEngine::new(SandboxLimits::default()).expect("engine");
    // Shared across runs: the Python component's first Cranelift compile takes 5–15 s.
    let cache = CompileCache::new(Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-languages-cache")));
    let registry = PluginRegistry::load_dir(&engine, &cache, dir.path()).await;
    let failures: Vec<String> = registry.failures().iter().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "{}: {failures:?}", guest.language);
    assert_eq!(registry.plugins().len(), 1);

    let plugin = registry.get(guest.provider, Kind::Llm).unwrap_or_else(|| {
        panic!("{}: no llm route for `{}`: {:?}", guest.language, guest.provider, registry.providers(Kind::Llm))
    });
    let info = plugin.info();
    assert_eq!(info.name, guest.name);
    assert_eq!(info.version, "0.1.0");
    assert_eq!(info.providers.len(), 1, "{info:?}");
    let provider = &info.providers[0];
    assert_eq!(provider.id, guest.provider);
    assert_eq!(provider.kinds, vec![Kind::Llm]);
    assert_eq!(provider.hosts, vec!["api.openai.com".to_string()]);
    assert_eq!(provider.api_key_env, vec!["OPENAI_API_KEY".to_string()]);
    assert_eq!(provider.base_url_env, vec!["OPENAI_BASE_URL".to_string()]);
    assert!(provider.config_keys.is_empty() && provider.tts_sample_rates.is_empty(), "{provider:?}");
    assert_eq!((provider.stt_mode, provider.stt_sample_rate), (None, None));
    assert!(registry.get(guest.provider, Kind::Tts).is_none() && registry.get(guest.provider, Kind::Stt).is_none());

    let fake_host = HostPattern::parse(&format!("127.0.0.1:{}", fake.addr().port())).expect("pattern");
    let runtime = PluginRuntime::new(registry, NetworkPolicy::deny_all().allow(fake_host), Timeouts::default())
        .expect("runtime")
        // The key and base URL come from the settings only, never from this process's env.
        .with_env(std::sync::Arc::new(|_| None));
    (runtime, dir)
}

fn settings(guest: &Guest, fake: &OpenAiFake) -> ProviderSettings {
    ProviderSettings {
        provider: guest.provider.into(),
        model: MODEL.into(),
        base_url: Some(fake.base_url()),
        api_key: Some(Secret::new(KEY)),
        ..Default::default()
    }
}

fn request(text: &str) -> OpenRequest {
    let message =
        |role, content: &str| llm::Message { role, content: content.into(), tool_calls: vec![], tool_call_id: None };
    OpenRequest::Llm(llm::Request {
        messages: vec![message(llm::Role::System, "Be brief."), message(llm::Role::User, text)],
        tools: vec![],
        temperature: None,
        max_tokens: Some(64),
        extras: "{}".into(),
    })
}

async fn streams_a_chat(guest: &Guest, runtime: &PluginRuntime, fake: &OpenAiFake, expected: &str) {
    let mut stream = runtime
        .open(&settings(guest, fake), request("Say hello."))
        .await
        .unwrap_or_else(|e| panic!("{}: open: {e}", guest.language));
    let (events, result) = common::collect(&mut stream).await;
    if let Err(error) = result {
        panic!("{}: the stream failed: {error}\nevents: {events:?}", guest.language);
    }

    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Llm(LlmEvent::TextDelta(delta)) => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, expected, "{}: {events:?}", guest.language);
    let finishes: Vec<_> = events.iter().filter(|e| matches!(e, Event::Llm(LlmEvent::Finish(_)))).collect();
    assert_eq!(finishes, [&Event::Llm(LlmEvent::Finish(FinishReason::Stop))], "{}: {events:?}", guest.language);
    let usage = Usage { prompt_tokens: 12, completion_tokens: 5, cached_prompt_tokens: 0 };
    assert!(events.contains(&Event::Llm(LlmEvent::Usage(usage))), "{}: {events:?}", guest.language);

    // What crossed the boundary: the guest's request, as the fake received it.
    let sent = fake.chat_requests().first().expect("the chat request").json().expect("a JSON body");
    assert_eq!(sent["model"], MODEL, "{}: {sent}", guest.language);
    assert_eq!(sent["stream"], true, "{}: {sent}", guest.language);
    assert_eq!(sent["stream_options"]["include_usage"], true, "{}: {sent}", guest.language);
    assert_eq!(sent["max_tokens"], 64, "{}: {sent}", guest.language);
    assert_eq!(
        sent["messages"],
        serde_json::json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello."},
        ]),
        "{}",
        guest.language
    );
}

async fn reports_a_rate_limit(guest: &Guest, runtime: &PluginRuntime, fake: &OpenAiFake) {
    let mut stream = runtime
        .open(&settings(guest, fake), request("Again."))
        .await
        .unwrap_or_else(|e| panic!("{}: open: {e}", guest.language));
    let (events, result) = common::collect(&mut stream).await;
    assert!(events.is_empty(), "{}: {events:?}", guest.language);
    match result {
        Err(StreamError::Provider { provider, error: ProviderError::RateLimited(limit) }) => {
            assert_eq!(provider, guest.provider);
            assert_eq!(limit.retry_after_ms, Some(2_000), "{}: {limit:?}", guest.language);
            assert!(limit.message.contains("HTTP 429"), "{}: {}", guest.language, limit.message);
        }
        other => panic!("{}: expected a rate-limited provider error, got {other:?}", guest.language),
    }
}
