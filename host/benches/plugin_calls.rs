//! Plugin costs against the same adapter code compiled natively, measured in one run.
//!
//! `cargo bench -p voiceblox-host --bench plugin_calls` prints a table:
//! - session start: instantiate + open the three adapters of a session (openai LLM,
//!   deepgram STT, deepgram TTS);
//! - one call: a 20-token SSE chunk into the OpenAI LLM adapter; a 20 ms audio frame into
//!   the Deepgram STT adapter;
//! - memory per live instance (RSS growth over many live instances);
//!
//! then a second table, one stream of each newer adapter (anthropic and gemini LLM, elevenlabs
//! and cartesia TTS, assemblyai STT): its start (instantiate + open) and one typical input once
//! it is streaming.
//!
//! The baseline is the very same adapter state machines linked as native Rust libraries, driven
//! through the SDK's provider traits (what each adapter exports), not their internal modules.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use voiceblox_host::plugin::types as host;
use voiceblox_host::plugin::{
    CompileCache, GuestStream, OpenRequest, Plugin, PluginEngine, SandboxLimits, default_plugins_dir, llm, stt, tts,
};
use voiceblox_plugin_anthropic as anthropic;
use voiceblox_plugin_assemblyai as assemblyai;
use voiceblox_plugin_cartesia as cartesia;
use voiceblox_plugin_contract::types as t;
use voiceblox_plugin_deepgram as dg;
use voiceblox_plugin_elevenlabs as elevenlabs;
use voiceblox_plugin_gemini as gemini;
use voiceblox_plugin_openai as oa;
use voiceblox_plugin_sdk::{self as sdk, LlmProvider, SttProvider, TtsProvider};

const TOKENS_PER_CHUNK: usize = 20;
const FRAME_SAMPLES: usize = 320;
const LIVE_INSTANCES: usize = 300;
/// ~20 tokens of answer, the text of one LLM chunk in the newer adapters' rows.
const TEXT_20_TOKENS: &str =
    " Your table for four is booked for eight tonight, and we will hold it for fifteen minutes.";
/// 100 ms of TTS audio at 24 kHz (16-bit mono).
const TTS_CHUNK_SAMPLES: usize = 2_400;
const TTS_SAMPLE_RATE: u32 = 24_000;

/// What a row shows: label, wasm time, native time.
type Row = (String, Duration, Duration);

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
    rows.push(("session start: 3 adapters instantiated + opened".into(), wasm, native));

    let mut stream = llm_receiving(&openai).await;
    let body = host::Input::HttpBody((1, sse.clone()));
    let wasm = per_iter_async(20_000, async || {
        black_box(stream.handle(&body).await.expect("handle"));
    })
    .await;
    let mut native_stream = oa_llm_receiving();
    let native = per_iter(20_000, || {
        black_box(native_stream.handle(t::Input::HttpBody((1, sse.clone()))));
    });
    rows.push(("LLM: one 20-token SSE chunk in".into(), wasm, native));

    let mut stream = stt_streaming(&deepgram).await;
    let audio = host::Input::Audio(frame.clone());
    let wasm = per_iter_async(20_000, async || {
        black_box(stream.handle(&audio).await.expect("handle"));
    })
    .await;
    let mut native_stream = dg_stt_streaming();
    let native = per_iter(20_000, || {
        black_box(native_stream.handle(t::Input::Audio(frame.clone())));
    });
    rows.push(("STT: one 20 ms audio frame in".into(), wasm, native));

    print_table("what", &rows);

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

    let rows = newer_adapter_rows(&load, &frame).await;
    println!();
    print_table("newer adapters, one stream each", &rows);
    println!("pooling allocator: {}", engine.is_pooled());
}

fn print_table(title: &str, rows: &[Row]) {
    println!("{title:<50} {:>14} {:>14} {:>10}", "wasm plugin", "native Rust", "ratio");
    for (what, wasm, native) in rows {
        println!(
            "{what:<50} {:>11.2} µs {:>11.3} µs {:>9.1}x",
            micros(*wasm),
            micros(*native),
            wasm.as_secs_f64() / native.as_secs_f64().max(1e-12)
        );
    }
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

type OaLlm = <oa::Plugin as LlmProvider>::Stream;
type DgStt = <dg::Plugin as SttProvider>::Stream;
type DgTts = <dg::Plugin as TtsProvider>::Stream;

/// The same three adapters, native: the request conversion the host would do is included.
fn open_session_native() -> (OaLlm, DgStt, DgTts) {
    let llm =
        <oa::Plugin as LlmProvider>::open(native_config("openai", "gpt-4.1-mini"), native_llm_request()).expect("open");
    let listen =
        <dg::Plugin as SttProvider>::open(native_config("deepgram", "nova-3"), native_stt_request()).expect("open");
    let speak = <dg::Plugin as TtsProvider>::open(native_config("deepgram", "aura-2-thalia-en"), native_tts_request())
        .expect("open");
    (llm, listen, speak)
}

fn native_config(provider: &str, model: &str) -> t::ProviderConfig {
    t::ProviderConfig {
        provider: provider.into(),
        model: model.into(),
        api_key: Some("{{api-key}}".into()),
        base_url: None,
        language: Some("en".into()),
        options: "{}".into(),
    }
}

fn native_llm_request() -> sdk::llm::Request {
    use sdk::llm::{Message, Request, Role};
    let message =
        |role, content: &str| Message { role, content: content.into(), tool_calls: vec![], tool_call_id: None };
    Request {
        messages: vec![message(Role::System, "You are brief."), message(Role::User, "Tell me a story.")],
        tools: vec![],
        temperature: Some(0.7),
        max_tokens: None,
        extras: "{}".into(),
    }
}

fn native_stt_request() -> sdk::stt::Request {
    sdk::stt::Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language: false,
        diarization: false,
        keyterms: vec![],
        endpointing_ms: Some(300),
        options: "{}".into(),
    }
}

fn native_tts_request() -> sdk::tts::Request {
    sdk::tts::Request { voice: None, sample_rate: Some(TTS_SAMPLE_RATE), options: "{}".into() }
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

fn oa_llm_receiving() -> OaLlm {
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

fn dg_stt_streaming() -> DgStt {
    let mut listen = open_session_native().1;
    listen.handle(t::Input::Start);
    listen.handle(t::Input::WsOpen);
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

/// One input, as the host passes it to a plugin and as the same adapter takes it natively.
#[derive(Clone)]
struct Both {
    wasm: host::Input,
    native: t::Input,
}

impl Both {
    fn start() -> Self {
        Both { wasm: host::Input::Start, native: t::Input::Start }
    }

    fn ws_open() -> Self {
        Both { wasm: host::Input::WsOpen, native: t::Input::WsOpen }
    }

    fn text(text: &str) -> Self {
        Both { wasm: host::Input::Text(text.into()), native: t::Input::Text(text.into()) }
    }

    fn audio(frame: &[i16]) -> Self {
        Both { wasm: host::Input::Audio(frame.to_vec()), native: t::Input::Audio(frame.to_vec()) }
    }

    fn ws_text(message: String) -> Self {
        Both {
            wasm: host::Input::WsMessage(host::WsMessage::Text(message.clone())),
            native: t::Input::WsMessage(t::WsMessage::Text(message)),
        }
    }

    /// The 200 head of request 1, an event stream.
    fn sse_head() -> Self {
        let (status, headers) = event_stream_head();
        Both {
            wasm: host::Input::HttpResponse((
                1,
                host::HttpResponse {
                    status,
                    headers: headers
                        .iter()
                        .map(|(name, value)| host::Header { name: name.clone(), value: value.clone() })
                        .collect(),
                },
            )),
            native: t::Input::HttpResponse((
                1,
                t::HttpResponse {
                    status,
                    headers: headers.into_iter().map(|(name, value)| t::Header { name, value }).collect(),
                },
            )),
        }
    }

    /// Body bytes of request 1.
    fn body(bytes: &[u8]) -> Self {
        Both { wasm: host::Input::HttpBody((1, bytes.to_vec())), native: t::Input::HttpBody((1, bytes.to_vec())) }
    }
}

/// One newer adapter: a stream of it started (wasm: instantiate + open; native: open), then
/// brought to its streaming phase, then fed one typical input over and over.
struct AdapterBench<N> {
    /// "anthropic LLM".
    name: &'static str,
    plugin: Arc<Plugin>,
    provider: &'static str,
    model: &'static str,
    request: fn() -> OpenRequest,
    open_native: fn() -> N,
    /// Inputs that bring a fresh stream to the phase the measured input belongs to.
    setup: Vec<Both>,
    /// What the measured input is, for the row's label.
    what: &'static str,
    input: Both,
    /// A tag the measured input's actions must show (checked on both sides before timing).
    expect: &'static str,
}

impl<N: sdk::Stream> AdapterBench<N> {
    /// The adapter's rows: its start, and its input.
    async fn rows(&self) -> [Row; 2] {
        let wasm = per_iter_async(200, async || {
            black_box(self.open_wasm().await);
        })
        .await;
        let native = per_iter(2_000, || {
            black_box((self.open_native)());
        });
        let start = (format!("{}: stream start (instantiate + open)", self.name), wasm, native);

        let mut stream = self.open_wasm().await;
        let mut native_stream = (self.open_native)();
        for input in &self.setup {
            stream.handle(&input.wasm).await.expect("setup");
            native_stream.handle(input.native.clone());
        }
        // The measured input must do its work (not fail the stream, say) and do the same on both
        // sides: a few of them, as an STT frame is sent on only every few calls.
        let (mut wasm_tags, mut native_tags) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            wasm_tags.extend(stream.handle(&self.input.wasm).await.expect("handle").iter().map(host_tag));
            native_tags.extend(native_stream.handle(self.input.native.clone()).iter().map(native_tag));
        }
        assert_eq!(wasm_tags, native_tags, "{}: wasm and native differ", self.name);
        assert!(wasm_tags.iter().any(|tag| tag == self.expect), "{}: no {} in {wasm_tags:?}", self.name, self.expect);
        assert!(!wasm_tags.iter().any(|tag| tag.starts_with("fail")), "{}: {wasm_tags:?}", self.name);

        let wasm = per_iter_async(20_000, async || {
            black_box(stream.handle(&self.input.wasm).await.expect("handle"));
        })
        .await;
        let native = per_iter(20_000, || {
            black_box(native_stream.handle(self.input.native.clone()));
        });
        [start, (format!("{}: {}", self.name, self.what), wasm, native)]
    }

    async fn open_wasm(&self) -> GuestStream {
        open_session_stream(&self.plugin, self.provider, self.model, (self.request)()).await
    }
}

/// An action's kind, the same for the host's and the adapter's own types.
macro_rules! action_tag {
    ($types:ident, $action:expr) => {
        match $action {
            $types::Action::Emit($types::Event::Llm($types::LlmEvent::TextDelta(_))) => "llm text".to_string(),
            $types::Action::Emit($types::Event::Tts($types::TtsEvent::Audio(_))) => "tts audio".to_string(),
            $types::Action::Emit($types::Event::Tts($types::TtsEvent::Flushed)) => "tts flushed".to_string(),
            $types::Action::Emit($types::Event::Stt(_)) => "stt event".to_string(),
            $types::Action::Emit(_) => "other event".to_string(),
            $types::Action::WsSend($types::WsMessage::Binary(_)) => "ws binary".to_string(),
            $types::Action::WsSend(_) => "ws text".to_string(),
            $types::Action::Fail(error) => format!("fail: {error:?}"),
            _ => "other action".to_string(),
        }
    };
}

fn host_tag(action: &host::Action) -> String {
    action_tag!(host, action)
}

fn native_tag(action: &t::Action) -> String {
    action_tag!(t, action)
}

/// The newer adapters' benches, each with its wire shapes (from its tests and recordings).
async fn newer_adapter_rows(load: &impl AsyncFn(&str) -> Arc<Plugin>, frame: &[i16]) -> Vec<Row> {
    let json = |value: &str| serde_json::to_string(value).expect("json");
    // What the TTS rows say before their audio comes back.
    let words = "Your table for four is booked for eight tonight. ";
    let pcm: Vec<u8> =
        (0..TTS_CHUNK_SAMPLES).flat_map(|i| (((i as f32 * 0.05).sin() * 8000.0) as i16).to_le_bytes()).collect();
    let audio = BASE64.encode(&pcm);

    let anthropic_start = "event: message_start\n\
        data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\
        \"role\":\"assistant\",\"content\":[],\"model\":\"claude-haiku-4-5-20251001\",\"stop_reason\":null,\
        \"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\
        \"cache_read_input_tokens\":128,\"output_tokens\":2,\"service_tier\":\"standard\"}}}\n\n\
        event: content_block_start\n\
        data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    let anthropic_delta = format!(
        "event: content_block_delta\n\
         data: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{}}}}}\n\n",
        json(TEXT_20_TOKENS)
    );
    let gemini_chunk = |text: &str| {
        format!(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": {}}}],\"role\": \"model\"}},\"index\": 0}}],\
             \"usageMetadata\": {{\"promptTokenCount\": 612,\"totalTokenCount\": 612,\"cachedContentTokenCount\": 256,\
             \"promptTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": 612}}],\
             \"cacheTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": 256}}]}},\
             \"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"fXbJaOCwBvWvz7IPpIqQ2AQ\"}}\r\n\r\n",
            json(text)
        )
    };
    // ~100 ms of speech covers about three characters of text (35 ms each, as recorded).
    let alignment = r#"{"charStartTimesMs":[0,35,70],"charsDurationsMs":[35,35,30],"chars":["Y","o","u"]}"#;
    let elevenlabs_audio =
        format!(r#"{{"audio":"{audio}","isFinal":null,"normalizedAlignment":{alignment},"alignment":{alignment}}}"#);
    let cartesia_chunk = format!(
        r#"{{"type":"chunk","data":"{audio}","done":false,"status_code":206,"step_time":10.5,"flush_id":1,"context_id":"voiceblox-1"}}"#
    );

    let mut rows = Vec::new();
    rows.extend(
        AdapterBench {
            name: "anthropic LLM",
            plugin: load("anthropic").await,
            provider: "anthropic",
            model: "claude-haiku-4-5",
            request: || OpenRequest::Llm(llm_request()),
            open_native: || {
                <anthropic::Plugin as LlmProvider>::open(
                    native_config("anthropic", "claude-haiku-4-5"),
                    native_llm_request(),
                )
                .expect("open")
            },
            setup: vec![Both::start(), Both::sse_head(), Both::body(anthropic_start.as_bytes())],
            what: "one ~20-token SSE text delta in",
            input: Both::body(anthropic_delta.as_bytes()),
            expect: "llm text",
        }
        .rows()
        .await,
    );
    rows.extend(
        AdapterBench {
            name: "gemini LLM",
            plugin: load("gemini").await,
            provider: "google",
            model: "gemini-2.5-flash",
            request: || OpenRequest::Llm(llm_request()),
            open_native: || {
                <gemini::Plugin as LlmProvider>::open(native_config("google", "gemini-2.5-flash"), native_llm_request())
                    .expect("open")
            },
            setup: vec![Both::start(), Both::sse_head(), Both::body(gemini_chunk("Hello").as_bytes())],
            what: "one ~20-token SSE chunk in",
            input: Both::body(gemini_chunk(TEXT_20_TOKENS).as_bytes()),
            expect: "llm text",
        }
        .rows()
        .await,
    );
    rows.extend(
        AdapterBench {
            name: "elevenlabs TTS",
            plugin: load("elevenlabs").await,
            provider: "elevenlabs",
            model: "eleven_flash_v2_5",
            request: || OpenRequest::Tts(tts_request()),
            open_native: || {
                <elevenlabs::Plugin as TtsProvider>::open(
                    native_config("elevenlabs", "eleven_flash_v2_5"),
                    native_tts_request(),
                )
                .expect("open")
            },
            setup: vec![Both::start(), Both::ws_open(), Both::text(words)],
            what: "one 100 ms audio message in",
            input: Both::ws_text(elevenlabs_audio),
            expect: "tts audio",
        }
        .rows()
        .await,
    );
    rows.extend(
        AdapterBench {
            name: "cartesia TTS",
            plugin: load("cartesia").await,
            provider: "cartesia",
            model: "sonic-3",
            request: || OpenRequest::Tts(tts_request()),
            open_native: || {
                <cartesia::Plugin as TtsProvider>::open(native_config("cartesia", "sonic-3"), native_tts_request())
                    .expect("open")
            },
            setup: vec![Both::start(), Both::ws_open(), Both::text(words)],
            what: "one 100 ms audio chunk in",
            input: Both::ws_text(cartesia_chunk),
            expect: "tts audio",
        }
        .rows()
        .await,
    );
    rows.extend(
        AdapterBench {
            name: "assemblyai STT",
            plugin: load("assemblyai").await,
            provider: "assemblyai",
            model: "universal-streaming-english",
            request: || OpenRequest::Stt(stt_request()),
            open_native: || {
                <assemblyai::Plugin as SttProvider>::open(
                    native_config("assemblyai", "universal-streaming-english"),
                    native_stt_request(),
                )
                .expect("open")
            },
            setup: vec![Both::start(), Both::ws_open()],
            what: "one 20 ms audio frame in",
            input: Both::audio(frame),
            expect: "ws binary",
        }
        .rows()
        .await,
    );
    rows
}
