//! Plugin costs against the same adapter code compiled natively, measured in one run.
//!
//! `cargo bench -p voiceblox-host --bench plugin_calls` prints a table:
//! - session start: instantiate + open the three adapters of a session (openai LLM,
//!   deepgram STT, deepgram TTS);
//! - one call: a 20-token SSE chunk into the OpenAI LLM adapter; a 20 ms audio frame into
//!   the Deepgram STT adapter;
//! - memory per live instance (RSS growth over many live instances).
//!
//! The baseline is the very same adapter state machines linked as native Rust libraries.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use voiceblox_host::plugin::types as host;
use voiceblox_host::plugin::{
    CompileCache, GuestStream, OpenRequest, Plugin, PluginEngine, SandboxLimits, default_plugins_dir, llm, stt, tts,
};
use voiceblox_plugin_contract as contract;
use voiceblox_plugin_deepgram as dg;
use voiceblox_plugin_openai as oa;

const TOKENS_PER_CHUNK: usize = 20;
const FRAME_SAMPLES: usize = 320;
const LIVE_INSTANCES: usize = 300;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    // One stream is called back to back for seconds, which is what the stream CPU budget
    // exists to stop; the bench measures the cost of a call (budget bookkeeping included).
    let mut limits = SandboxLimits::default();
    limits.stream.cpu_budget = Duration::from_secs(3600);
    let engine = PluginEngine::new(limits).expect("engine");
    let cache = CompileCache::new(Some(std::env::temp_dir().join("voiceblox-bench-cache")));
    let load = async |name: &str| {
        Plugin::load(&engine, &cache, &default_plugins_dir().join(format!("{name}.wasm"))).await.expect(name)
    };
    let openai = load("openai").await;
    let deepgram = load("deepgram").await;
    let sse = sse_chunk();
    let frame: Vec<i16> = (0..FRAME_SAMPLES).map(|i| ((i as f32 * 0.2).sin() * 8000.0) as i16).collect();

    let mut rows = Vec::new();

    let wasm = per_iter_async(200, async || {
        black_box(open_session(&openai, &deepgram).await);
    })
    .await;
    let native = per_iter(2_000, || {
        black_box(open_session_native());
    });
    rows.push(("session start: 3 adapters instantiated + opened", wasm, native));

    let mut stream = llm_receiving(&openai).await;
    let body = host::Input::HttpBody((1, sse.clone()));
    let wasm = per_iter_async(20_000, async || {
        black_box(stream.handle(&body).await.expect("handle"));
    })
    .await;
    let mut native_stream = oa_llm_receiving();
    let native = per_iter(20_000, || {
        black_box(native_stream.handle(contract::types::Input::HttpBody((1, sse.clone()))));
    });
    rows.push(("LLM: one 20-token SSE chunk in", wasm, native));

    let mut stream = stt_streaming(&deepgram).await;
    let audio = host::Input::Audio(frame.clone());
    let wasm = per_iter_async(20_000, async || {
        black_box(stream.handle(&audio).await.expect("handle"));
    })
    .await;
    let mut native_stream = dg_stt_streaming();
    let native = per_iter(20_000, || {
        black_box(native_stream.handle(contract::types::Input::Audio(frame.clone())));
    });
    rows.push(("STT: one 20 ms audio frame in", wasm, native));

    println!("{:<50} {:>14} {:>14} {:>10}", "what", "wasm plugin", "native Rust", "ratio");
    for (what, wasm, native) in rows {
        println!(
            "{what:<50} {:>11.2} µs {:>11.3} µs {:>9.1}x",
            micros(wasm),
            micros(native),
            wasm.as_secs_f64() / native.as_secs_f64().max(1e-12)
        );
    }

    let (rss_wasm, rss_native) = memory_per_instance(&openai, &deepgram).await;
    // Native adapter state is a few hundred bytes: it never grows RSS by a page, so a ratio
    // would divide by zero; report the wasm figure alone then.
    let ratio = if rss_native >= 1024.0 { format!("{:.1}x", rss_wasm / rss_native) } else { "n/a".into() };
    println!(
        "{:<50} {:>11.1} KB {:>11.1} KB {:>10}",
        format!("memory per live session ({LIVE_INSTANCES} sessions, RSS growth)"),
        rss_wasm / 1024.0,
        rss_native / 1024.0,
        ratio
    );
    println!("pooling allocator: {}", engine.is_pooled());
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// [`per_iter`] for async work, awaited in place (no task spawn per iteration).
async fn per_iter_async(n: u32, mut f: impl AsyncFnMut()) -> Duration {
    for _ in 0..n / 10 {
        f().await;
    }
    let mut batches = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..n {
            f().await;
        }
        batches.push(start.elapsed() / n);
    }
    batches.sort();
    batches[3]
}

/// Median time per iteration over 7 batches of `n`.
fn per_iter(n: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..n / 10 {
        f();
    }
    let mut batches: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed() / n
        })
        .collect();
    batches.sort();
    batches[3]
}

fn config(provider: &str, model: &str) -> host::ProviderConfig {
    host::ProviderConfig {
        provider: provider.into(),
        model: model.into(),
        api_key: Some("{{api-key}}".into()),
        base_url: None,
        language: Some("en".into()),
        options: "{}".into(),
    }
}

fn llm_request() -> llm::Request {
    llm::Request {
        messages: vec![
            llm::Message {
                role: llm::Role::System,
                content: "You are brief.".into(),
                tool_calls: vec![],
                tool_call_id: None,
            },
            llm::Message {
                role: llm::Role::User,
                content: "Tell me a story.".into(),
                tool_calls: vec![],
                tool_call_id: None,
            },
        ],
        tools: vec![],
        temperature: Some(0.7),
        max_tokens: None,
        extras: "{}".into(),
    }
}

fn stt_request() -> stt::Request {
    stt::Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language: false,
        diarization: false,
        keyterms: vec![],
        endpointing_ms: Some(300),
        options: "{}".into(),
    }
}

fn tts_request() -> tts::Request {
    tts::Request { voice: None, sample_rate: Some(24_000), options: "{}".into() }
}

async fn open_session(openai: &Arc<Plugin>, deepgram: &Arc<Plugin>) -> [GuestStream; 3] {
    [
        open_session_stream(openai, "openai", "gpt-4.1-mini", OpenRequest::Llm(llm_request())).await,
        open_session_stream(deepgram, "deepgram", "nova-3", OpenRequest::Stt(stt_request())).await,
        open_session_stream(deepgram, "deepgram", "aura-2-thalia-en", OpenRequest::Tts(tts_request())).await,
    ]
}

/// The same three adapters, native: the request conversion the host would do is included.
fn open_session_native() -> (oa::llm::ChatStream, dg::listen::Listen, dg::speak::Speak) {
    use dg::exports::voiceblox::plugin as dgx;
    use oa::exports::voiceblox::plugin as oax;
    let messages = vec![
        oax::llm::Message {
            role: oax::llm::Role::System,
            content: "You are brief.".into(),
            tool_calls: vec![],
            tool_call_id: None,
        },
        oax::llm::Message {
            role: oax::llm::Role::User,
            content: "Tell me a story.".into(),
            tool_calls: vec![],
            tool_call_id: None,
        },
    ];
    let llm = oa::llm::ChatStream::open(
        &oa_config(),
        &oax::llm::Request { messages, tools: vec![], temperature: Some(0.7), max_tokens: None, extras: "{}".into() },
    )
    .expect("open");
    let listen = dg::listen::Listen::open(
        &dg_config("nova-3"),
        &dgx::stt::Request {
            sample_rate: 16_000,
            interim_results: true,
            detect_language: false,
            diarization: false,
            keyterms: vec![],
            endpointing_ms: Some(300),
            options: "{}".into(),
        },
    )
    .expect("open");
    let speak = dg::speak::Speak::open(
        &dg_config("aura-2-thalia-en"),
        &dgx::tts::Request { voice: None, sample_rate: Some(24_000), options: "{}".into() },
    )
    .expect("open");
    (llm, listen, speak)
}

fn oa_config() -> contract::types::ProviderConfig {
    contract::types::ProviderConfig {
        provider: "openai".into(),
        model: "gpt-4.1-mini".into(),
        api_key: Some("{{api-key}}".into()),
        base_url: None,
        language: Some("en".into()),
        options: "{}".into(),
    }
}

fn dg_config(model: &str) -> contract::types::ProviderConfig {
    contract::types::ProviderConfig {
        provider: "deepgram".into(),
        model: model.into(),
        api_key: Some("{{api-key}}".into()),
        base_url: None,
        language: Some("en".into()),
        options: "{}".into(),
    }
}

/// One SSE body chunk of 20 content deltas, the way OpenAI streams them.
fn sse_chunk() -> Vec<u8> {
    let mut body = String::new();
    for i in 0..TOKENS_PER_CHUNK {
        body.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-B9\",\"object\":\"chat.completion.chunk\",\"created\":1732000000,\"model\":\"gpt-4.1-mini-2025-04-14\",\"system_fingerprint\":\"fp_1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        ));
    }
    body.into_bytes()
}

fn event_stream_head() -> (u16, Vec<(String, String)>) {
    (200, vec![("content-type".into(), "text/event-stream".into())])
}

async fn llm_receiving(openai: &Arc<Plugin>) -> GuestStream {
    let mut stream = open_session_stream(openai, "openai", "gpt-4.1-mini", OpenRequest::Llm(llm_request())).await;
    stream.handle(&host::Input::Start).await.expect("start");
    let (status, headers) = event_stream_head();
    let headers = headers.into_iter().map(|(name, value)| host::Header { name, value }).collect();
    stream.handle(&host::Input::HttpResponse((1, host::HttpResponse { status, headers }))).await.expect("head");
    stream
}

fn oa_llm_receiving() -> oa::llm::ChatStream {
    use contract::types as t;
    let mut stream = open_session_native().0;
    stream.handle(t::Input::Start);
    let (status, headers) = event_stream_head();
    let headers = headers.into_iter().map(|(name, value)| t::Header { name, value }).collect();
    stream.handle(t::Input::HttpResponse((1, t::HttpResponse { status, headers })));
    stream
}

async fn stt_streaming(deepgram: &Arc<Plugin>) -> GuestStream {
    let mut stream = open_session_stream(deepgram, "deepgram", "nova-3", OpenRequest::Stt(stt_request())).await;
    stream.handle(&host::Input::Start).await.expect("start");
    stream.handle(&host::Input::WsOpen).await.expect("open");
    stream
}

fn dg_stt_streaming() -> dg::listen::Listen {
    let mut listen = open_session_native().1;
    listen.handle(contract::types::Input::Start);
    listen.handle(contract::types::Input::WsOpen);
    listen
}

async fn open_session_stream(plugin: &Arc<Plugin>, provider: &str, model: &str, request: OpenRequest) -> GuestStream {
    let instance = voiceblox_host::plugin::PluginInstance::new(plugin).await.expect("instantiate");
    instance.open(&config(provider, model), &request).await.expect("open")
}

/// Resident set size in bytes, from /proc (Linux).
fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    pages * 4096.0
}

/// RSS growth per live session (3 open adapter streams), wasm vs native.
async fn memory_per_instance(openai: &Arc<Plugin>, deepgram: &Arc<Plugin>) -> (f64, f64) {
    let before = rss();
    let mut sessions = Vec::new();
    for _ in 0..LIVE_INSTANCES {
        sessions.push(open_session(openai, deepgram).await);
    }
    let wasm = (rss() - before) / LIVE_INSTANCES as f64;
    drop(sessions);
    let before = rss();
    let native: Vec<_> = (0..LIVE_INSTANCES).map(|_| open_session_native()).collect();
    let native_bytes = (rss() - before) / LIVE_INSTANCES as f64;
    black_box(native);
    (wasm, native_bytes)
}
