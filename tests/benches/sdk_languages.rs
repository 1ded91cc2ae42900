//! The same adapter written with each SDK: an OpenAI-compatible chat adapter (streamed SSE, tool
//! calls, usage, typed errors) in Rust (the first-party `openai` plugin's LLM), Python
//! (componentize-py, `examples/plugins/python`) and JavaScript (componentize-js,
//! `examples/plugins/javascript`), loaded in one host and measured in one run, Rust the baseline:
//! component size, first compile (Cranelift, once per build of a plugin), session start
//! (instantiate + open), one 20-token SSE chunk through `handle`, and memory per live instance
//! (RSS growth over many open streams).
//!
//! Run: `cargo bench -p voiceblox-tests --bench sdk_languages` (builds the guests first, as the
//! tests do).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use voiceblox_host::plugin::types::{Header, HttpResponse, Input};
use voiceblox_host::plugin::{
    CompileCache, GuestStream, OpenRequest, Plugin, PluginEngine, PluginInstance, SandboxLimits, default_plugins_dir,
    llm, types,
};
use voiceblox_tests::guests::{JAVASCRIPT, PYTHON, build};
use voiceblox_tests::measure::rss_mb;

const TOKENS_PER_CHUNK: usize = 20;
const LIVE_INSTANCES: usize = 40;

struct Figures {
    size_kb: f64,
    compile_ms: f64,
    start_us: f64,
    chunk_us: f64,
    memory_mb: f64,
}

fn main() {
    let guests = [
        ("Rust", default_plugins_dir().join("openai.wasm"), "openai"),
        ("Python", build(&PYTHON), PYTHON.provider),
        ("JavaScript", build(&JAVASCRIPT), JAVASCRIPT.provider),
    ];
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut limits = SandboxLimits::default();
    // Calls run back to back for seconds here, which the stream CPU budget exists to stop.
    limits.stream.cpu_budget = Duration::from_secs(3600);
    let engine = PluginEngine::new(limits).expect("engine");
    println!("| SDK | component | first compile | session start | 20-token chunk | memory per instance |");
    println!("|---|---|---|---|---|---|");
    let mut base: Option<Figures> = None;
    for (language, path, provider) in guests {
        let figures = rt.block_on(measure(&engine, &path, provider));
        let b = base.get_or_insert(Figures { ..figures });
        let ratio = |value: f64, of: f64| if of > 0.0 { format!(" ({:.0}x)", value / of) } else { String::new() };
        println!(
            "| {language} | {:.0} KB{} | {:.0} ms{} | {:.0} µs{} | {:.1} µs{} | {:.2} MB{} |",
            figures.size_kb,
            ratio(figures.size_kb, b.size_kb),
            figures.compile_ms,
            ratio(figures.compile_ms, b.compile_ms),
            figures.start_us,
            ratio(figures.start_us, b.start_us),
            figures.chunk_us,
            ratio(figures.chunk_us, b.chunk_us),
            figures.memory_mb,
            ratio(figures.memory_mb, b.memory_mb),
        );
    }
}

async fn measure(engine: &PluginEngine, path: &std::path::Path, provider: &str) -> Figures {
    let size_kb = std::fs::metadata(path).expect("the component").len() as f64 / 1024.0;
    let t0 = Instant::now();
    let plugin = Plugin::load(engine, &CompileCache::new(None), path).await.expect("loads");
    let compile_ms = t0.elapsed().as_secs_f64() * 1000.0;

    let start = median(20, async || {
        black_box(receiving(&plugin, provider).await);
    })
    .await;
    let mut stream = receiving(&plugin, provider).await;
    let chunk = Input::HttpBody((1, sse_chunk()));
    let chunk_time = median(200, async || {
        black_box(stream.handle(&chunk).await.expect("a chunk"));
    })
    .await;

    let before = rss_mb();
    let mut live = Vec::new();
    for _ in 0..LIVE_INSTANCES {
        live.push(receiving(&plugin, provider).await);
    }
    let memory_mb = (rss_mb() - before) / LIVE_INSTANCES as f64;
    drop(live);
    Figures {
        size_kb,
        compile_ms,
        start_us: start.as_secs_f64() * 1e6,
        chunk_us: chunk_time.as_secs_f64() * 1e6,
        memory_mb,
    }
}

/// Median per iteration over 5 batches of `n` (after a warm-up batch).
async fn median(n: u32, mut f: impl AsyncFnMut()) -> Duration {
    for _ in 0..n {
        f().await;
    }
    let mut batches = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            f().await;
        }
        batches.push(start.elapsed() / n);
    }
    batches.sort();
    batches[2]
}

/// A stream opened, started and past its response head: ready for body chunks.
async fn receiving(plugin: &Arc<Plugin>, provider: &str) -> GuestStream {
    let instance = PluginInstance::new(plugin).await.expect("instantiate");
    let config = types::ProviderConfig {
        provider: provider.into(),
        model: "gpt-4.1-mini".into(),
        api_key: Some("{{api-key}}".into()),
        base_url: None,
        language: Some("en".into()),
        options: "{}".into(),
    };
    let message =
        |role, content: &str| llm::Message { role, content: content.into(), tool_calls: vec![], tool_call_id: None };
    let request = llm::Request {
        messages: vec![message(llm::Role::System, "You are brief."), message(llm::Role::User, "Tell me a story.")],
        tools: vec![],
        temperature: Some(0.7),
        max_tokens: None,
        extras: "{}".into(),
    };
    let mut stream = instance.open(&config, &OpenRequest::Llm(request)).await.expect("open");
    stream.handle(&Input::Start).await.expect("start");
    let head = HttpResponse {
        status: 200,
        headers: vec![Header { name: "content-type".into(), value: "text/event-stream".into() }],
    };
    stream.handle(&Input::HttpResponse((1, head))).await.expect("head");
    stream
}

/// One SSE body chunk of 20 content deltas, the way OpenAI streams them.
fn sse_chunk() -> Vec<u8> {
    (0..TOKENS_PER_CHUNK)
        .map(|i| {
            format!(
                "data: {{\"id\":\"chatcmpl-B9\",\"object\":\"chat.completion.chunk\",\"created\":1732000000,\"model\":\"gpt-4.1-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}
