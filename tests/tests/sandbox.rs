//! A misbehaving plugin hurts only its own stream: loops hit the CPU deadline, allocations hit
//! the memory cap, traps become typed errors, network requests outside the grant are refused,
//! and other streams (of the same plugin and of others) keep working meanwhile.

use crate::common;

use voiceblox_host::egress::PolicyError;
use voiceblox_host::plugin::types::{Event, LlmEvent};
use voiceblox_host::plugin::{PluginRuntime, ProviderSettings, StreamError};

use common::llm_request as request;

fn mode(mode: &str) -> ProviderSettings {
    ProviderSettings { provider: "misbehave".into(), model: mode.into(), ..Default::default() }
}

async fn run(runtime: &PluginRuntime, model: &str) -> (Vec<Event>, Result<(), StreamError>) {
    let mut stream = runtime.open(&mode(model), request("hello")).await.expect("open");
    common::collect(&mut stream).await
}

/// A well-behaved stream of the same plugin, to run beside the bad ones.
async fn echo_works(runtime: &PluginRuntime, text: &str) {
    let mut stream = runtime.open(&mode("echo"), request(text)).await.expect("open echo");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("echo finishes");
    assert_eq!(events[0], Event::Llm(LlmEvent::TextDelta(text.into())));
}

/// Runs stream `model` while a well-behaved stream of the same plugin works beside it; the
/// misbehaving stream's failure.
async fn fails_beside_echo(runtime: &PluginRuntime, model: &'static str) -> StreamError {
    let bad = tokio::spawn({
        let runtime = runtime.clone();
        async move { run(&runtime, model).await }
    });
    echo_works(runtime, "still here").await;
    let (_, result) = bad.await.unwrap();
    result.unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_hits_the_cpu_deadline_while_others_keep_working() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let err = fails_beside_echo(&runtime, "loop").await;
    assert!(matches!(err, StreamError::Deadline { deadline_ms: 100, .. }), "{err}");
    echo_works(&runtime, "and after").await;
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_cap() {
    // Filling 64 MiB is real CPU work (page faults, zeroing, the memset): measured in CI, it can
    // pass 100 ms of the thread's own CPU time while the other tests load the machine. This test
    // is about the memory cap, so the call deadline is out of its way.
    let limits = voiceblox_host::plugin::SandboxLimits {
        call_deadline: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    let (runtime, _dir) = common::runtime_with_limits(&[], limits).await;
    let (_, result) = run(&runtime, "alloc").await;
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::MemoryCap { .. }), "{err}");
    assert!(err.to_string().contains("cap is 67108864 bytes"), "{err}");
    echo_works(&runtime, "fine").await;
}

#[tokio::test]
async fn a_trap_is_a_typed_error_for_that_stream_only() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let (_, result) = run(&runtime, "trap").await;
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Trap { ref plugin, .. } if plugin == "misbehave"), "{err}");
    echo_works(&runtime, "fine").await;
}

#[tokio::test]
async fn an_undeclared_host_is_refused_before_any_io() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let (_, result) = run(&runtime, "undeclared").await;
    match result.unwrap_err() {
        StreamError::Denied { source: PolicyError::Undeclared { host }, .. } => {
            assert_eq!(host, "api.deepgram.com:443")
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_declared_host_the_operator_did_not_allow_is_refused() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let (_, result) = run(&runtime, "declared").await;
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Denied { source: PolicyError::NotAllowed { .. }, .. }), "{err}");
    assert!(err.to_string().contains("--allow-host"), "{err}");
}

#[tokio::test]
async fn an_invalid_header_is_a_contract_error() {
    let (runtime, _dir) = common::runtime(&["declared.example.com"], &[]).await;
    let (_, result) = run(&runtime, "bad-header").await;
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Contract { .. }), "{err}");
    assert!(err.to_string().contains("bad header name"), "{err}");
}

#[tokio::test]
async fn a_plugin_that_waits_for_nothing_is_ended_with_an_error_not_left_hanging() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let mut stream = runtime.open(&mode("stall"), request("x")).await.unwrap();
    stream.send(voiceblox_host::plugin::StreamInput::End).await.unwrap();
    let (_, result) = common::collect(&mut stream).await;
    assert!(matches!(result.unwrap_err(), StreamError::Contract { .. }));
}

#[tokio::test]
async fn a_refused_open_reports_the_providers_error() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let err = runtime.open(&mode("refuse"), request("x")).await.err().unwrap();
    assert!(matches!(err, StreamError::Provider { .. }), "{err}");
    assert!(err.to_string().contains("refuses every request"), "{err}");
}

#[tokio::test]
async fn an_unknown_provider_lists_the_loaded_ones() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let settings = ProviderSettings { provider: "nope".into(), ..Default::default() };
    let err = runtime.open(&settings, request("x")).await.err().unwrap();
    let text = err.to_string();
    assert!(text.contains("`nope`") && text.contains("openai") && text.contains("misbehave"), "{text}");
}

/// Limits with one stream bound changed.
fn limits(change: impl FnOnce(&mut voiceblox_host::plugin::StreamLimits)) -> voiceblox_host::plugin::SandboxLimits {
    let mut limits = voiceblox_host::plugin::SandboxLimits::default();
    change(&mut limits.stream);
    limits
}

fn with_base(model: &str, base: &str) -> ProviderSettings {
    ProviderSettings { base_url: Some(base.into()), ..mode(model) }
}

#[tokio::test]
async fn a_stream_that_waits_for_nothing_times_out_instead_of_hanging_its_caller() {
    let (runtime, _dir) =
        common::runtime_with_limits(&[], limits(|s| s.idle = std::time::Duration::from_secs(1))).await;
    // The owner never ends its input: only the idle bound can end this stream.
    let (_, result) = run(&runtime, "stall").await;
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Idle { seconds: 1, .. }), "{err}");
    assert!(err.to_string().contains("made no progress for 1 s"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_burns_cpu_on_a_zero_timer_is_stopped_by_its_budget() {
    let budget = std::time::Duration::from_millis(400);
    let (runtime, _dir) = common::runtime_with_limits(&[], limits(|s| s.cpu_budget = budget)).await;
    // Each call stays under the 100 ms call deadline; only the budget can stop it.
    let err = fails_beside_echo(&runtime, "burn").await;
    assert!(matches!(err, StreamError::CpuBudget { budget_ms: 400, window_s: 10, .. }), "{err}");
}

#[tokio::test]
async fn requests_are_capped_in_flight_and_per_minute() {
    let reflector = voiceblox_tests::fakes::reflector::Reflector::start();
    let allow = format!("127.0.0.1:{}", reflector.port());
    let (runtime, _dir) = common::runtime(&[&allow], &[]).await;
    let mut stream = runtime.open(&with_base("flood", &reflector.base_url()), request("x")).await.unwrap();
    let (_, result) = common::collect(&mut stream).await;
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Limit { .. }), "{err}");
    assert!(err.to_string().contains("more than 8 HTTP requests in flight"), "{err}");
    assert!(reflector.requests().len() <= 8);

    let mut stream = runtime.open(&with_base("flood-seq", &reflector.base_url()), request("x")).await.unwrap();
    let (_, result) = common::collect(&mut stream).await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("more than 120 requests and connections in one minute"), "{err}");
    let reflected = reflector.requests().iter().filter(|r| r.path() == "/reflect").count();
    assert_eq!(reflected, 120);
}

#[tokio::test]
async fn timers_are_capped() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let (_, result) = run(&runtime, "timers").await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("more than 16 timers pending"), "{err}");
}

#[tokio::test]
async fn a_plugins_error_text_reaches_the_host_inert() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let (_, result) = run(&runtime, "escape").await;
    let text = result.unwrap_err().to_string();
    assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text:?}");
    assert!(text.contains("\\x1b[31mred\\nINFO voiceblox_host: forged line"), "{text}");
}
