//! Latency the host adds on the two hops of a voice turn that are ours, measured through the
//! real plugins and HTTP driver against the provider fakes on loopback:
//!
//! - end of turn → LLM request: `Conversation::user_turn` (the turn is committed) until the
//!   fake receives the chat request (prompt building, plugin instance, request encoding,
//!   pooled HTTP);
//! - first LLM sentence → TTS request: the sentence leaves the chunker (markdown stripped),
//!   a synthesis stream opens and the fake receives the speech request.
//!
//! Baseline, same run: a bare `reqwest` POST of a same-size body to the same fake (the least
//! any Rust client pays to put a request on the wire). Provider time is excluded: the clock
//! stops when the request arrives.
//!
//! `cargo bench -p voiceblox-host --bench voice_latency`

use std::sync::Arc;
use std::time::{Duration, Instant};

use voiceblox_host::config::AgentConfig;
use voiceblox_host::egress::{HostPattern, NetworkPolicy};
use voiceblox_host::events::NullSink;
use voiceblox_host::flow::{Conversation, FlowContext, Output, Toolbox};
use voiceblox_host::plugin::{
    CompileCache, PluginEngine, PluginRegistry, PluginRuntime, SandboxLimits, Timeouts, default_plugins_dir,
};
use voiceblox_host::providers::{Speaker, settings};
use voiceblox_host::voice::sentences::SentenceChunker;
use voiceblox_host::voice::speakable::speakable;
use voiceblox_tests::fakes::openai::{self, OpenAiScript};

const ROUNDS: usize = 200;
const WARMUP: usize = 20;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(bench());
}

async fn runtime(fake: &openai::OpenAiFake) -> PluginRuntime {
    let engine = PluginEngine::new(SandboxLimits::default()).expect("engine");
    let cache = CompileCache::new(Some(std::env::temp_dir().join("voiceblox-bench-cache")));
    let registry = PluginRegistry::load_dir(&engine, &cache, &default_plugins_dir()).await;
    let policy = NetworkPolicy::default().allow(HostPattern::parse("127.0.0.1").expect("pattern"));
    let base = fake.base_url();
    PluginRuntime::new(registry, policy, Timeouts::default()).expect("runtime").with_env(Arc::new(
        move |name| match name {
            "OPENAI_API_KEY" => Some("sk-bench".into()),
            "OPENAI_BASE_URL" => Some(base.clone()),
            _ => None,
        },
    ))
}

async fn bench() {
    let fake = openai::start(OpenAiScript::new());
    let runtime = runtime(&fake).await;
    let config = AgentConfig::from_json(
        &serde_json::json!({
            "instructions": "You are a helpful assistant for Acme Broadband. Keep answers short.",
            "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
            "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
            "steps": [
                {"id": "s", "type": "start", "command": "Hi.", "isLiteral": true, "nextStepIds": {"next": "o"}},
                {"id": "o", "type": "opentalk", "command": "Help the caller."}
            ]
        })
        .to_string(),
    )
    .expect("config");
    let ctx =
        Arc::new(FlowContext::new(Arc::new(config.clone()), runtime.clone(), Toolbox::default(), Arc::new(NullSink)));

    // End of turn → LLM request.
    let mut eot = Vec::new();
    for round in 0..WARMUP + ROUNDS {
        let mut conversation = Conversation::new(ctx.clone());
        conversation.start();
        drain(&mut conversation).await;
        let before = fake.chat_requests().len();
        let t0 = Instant::now();
        conversation.user_turn("My internet has been dropping every evening since Monday.");
        drain(&mut conversation).await;
        let requests = fake.chat_requests();
        assert_eq!(requests.len(), before + 1);
        if round >= WARMUP {
            eot.push(requests[before].received_at - t0);
        }
    }
    let chat_body = fake.chat_requests().last().expect("a chat request").body.clone();

    // First sentence → TTS request.
    let speaker = Speaker::new(runtime.clone(), settings::tts(&config.tts, &config.language), Some("alloy".into()));
    let mut tts = Vec::new();
    for round in 0..WARMUP + ROUNDS {
        let before = fake.speech_requests().len();
        let t0 = Instant::now();
        let mut chunker = SentenceChunker::default();
        let sentence = chunker.push("Sorry to hear that, **let's** fix it. First, restart").remove(0);
        let mut synthesis = speaker.open().await.expect("tts");
        synthesis.say(speakable(&sentence)).await.expect("say");
        let arrived = wait_for(|| fake.speech_requests().get(before).map(|r| r.received_at)).await;
        if round >= WARMUP {
            tts.push(arrived - t0);
        }
        drop(synthesis);
    }
    let speech_body = fake.speech_requests().last().expect("a speech request").body.clone();

    // Baseline: a bare pooled POST of the same bodies.
    voiceblox_host::egress::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut bare_chat = Vec::new();
    let mut bare_speech = Vec::new();
    for (path, body, out) in
        [("/chat/completions", &chat_body, &mut bare_chat), ("/audio/speech", &speech_body, &mut bare_speech)]
    {
        for round in 0..WARMUP + ROUNDS {
            let url = format!("{}{path}", fake.base_url());
            let requests = || if path.contains("chat") { fake.chat_requests() } else { fake.speech_requests() };
            let before = requests().len();
            let t0 = Instant::now();
            let send = client
                .post(&url)
                .header("authorization", "Bearer sk-bench")
                .header("content-type", "application/json")
                .body(body.clone())
                .send();
            let response = tokio::spawn(send);
            let arrived = wait_for(|| requests().get(before).map(|r| r.received_at)).await;
            drop(response.await);
            if round >= WARMUP {
                out.push(arrived - t0);
            }
        }
    }

    println!("host-added latency, {ROUNDS} rounds each (median / p95), against a bare reqwest POST of the same body");
    println!("{:<44} {:>22} {:>22} {:>8}", "hop", "voiceblox", "bare POST", "ratio");
    for (name, ours, bare) in [
        ("end of turn -> LLM request sent", &mut eot, &mut bare_chat),
        ("first sentence -> TTS request sent", &mut tts, &mut bare_speech),
    ] {
        let (m, p) = stats(ours);
        let (bm, bp) = stats(bare);
        println!(
            "{name:<44} {:>10} / {:>9} {:>10} / {:>9} {:>7.1}x",
            fmt(m),
            fmt(p),
            fmt(bm),
            fmt(bp),
            m.as_secs_f64() / bm.as_secs_f64()
        );
    }
}

async fn drain(conversation: &mut Conversation) {
    loop {
        if let Output::Done { .. } = conversation.next().await {
            conversation.commit_spoken(None);
            return;
        }
    }
}

async fn wait_for(mut probe: impl FnMut() -> Option<Instant>) -> Instant {
    loop {
        if let Some(at) = probe() {
            return at;
        }
        tokio::time::sleep(Duration::from_micros(50)).await;
    }
}

fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 95 / 100])
}

fn fmt(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
