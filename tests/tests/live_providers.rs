//! Opt-in: the shipped plugins against the real provider APIs. Each test runs only when its
//! key is in the environment (`OPENAI_API_KEY`, `DEEPGRAM_API_KEY`) and otherwise says so and
//! passes; `OPENAI_BASE_URL` / `DEEPGRAM_BASE_URL` are honoured as the plugins declare.
//!
//! ```sh
//! OPENAI_API_KEY=sk-... DEEPGRAM_API_KEY=... cargo test -p voiceblox-tests --test live_providers -- --nocapture
//! ```

mod common;

use voiceblox_host::egress::NetworkPolicy;
use voiceblox_host::plugin::types::{Event, LlmEvent, SttEvent, TtsEvent};
use voiceblox_host::plugin::{
    OpenRequest, PluginRegistry, PluginRuntime, ProviderSettings, StreamInput, Timeouts, default_plugins_dir, llm, stt,
    tts,
};

fn key(var: &str) -> Option<String> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty());
    if value.is_none() {
        eprintln!("{var} is not set: skipping the live test");
    }
    value
}

async fn live_runtime() -> PluginRuntime {
    let registry = PluginRegistry::load_dir(&common::engine(), &common::cache(), &default_plugins_dir()).await;
    PluginRuntime::new(registry, NetworkPolicy::default(), Timeouts::default()).expect("runtime")
}

#[tokio::test]
async fn openai_chat_completion() {
    if key("OPENAI_API_KEY").is_none() {
        return;
    }
    let runtime = live_runtime().await;
    let settings = ProviderSettings { provider: "openai".into(), model: "gpt-4.1-mini".into(), ..Default::default() };
    let request = OpenRequest::Llm(llm::Request {
        messages: vec![llm::Message {
            role: llm::Role::User,
            content: "Reply with the single word: pong".into(),
            tool_calls: vec![],
            tool_call_id: None,
        }],
        tools: vec![],
        temperature: Some(0.0),
        max_tokens: Some(10),
        extras: "{}".into(),
    });
    let mut stream = runtime.open(&settings, request).await.expect("open");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("the live call succeeds");
    let text: String = events
        .iter()
        .filter_map(|e| if let Event::Llm(LlmEvent::TextDelta(t)) = e { Some(t.as_str()) } else { None })
        .collect();
    assert!(text.to_lowercase().contains("pong"), "{text}");
    assert!(events.iter().any(|e| matches!(e, Event::Llm(LlmEvent::Usage(_)))));
}

/// Deepgram speaks a sentence at 16 kHz and transcribes it back.
#[tokio::test]
async fn deepgram_speak_then_listen() {
    if key("DEEPGRAM_API_KEY").is_none() {
        return;
    }
    let runtime = live_runtime().await;
    let speak =
        ProviderSettings { provider: "deepgram".into(), model: "aura-2-thalia-en".into(), ..Default::default() };
    let request = OpenRequest::Tts(tts::Request { voice: None, sample_rate: Some(16_000), options: "{}".into() });
    let mut stream = runtime.open(&speak, request).await.expect("open tts");
    for input in
        [StreamInput::Text("The quick brown fox jumps over the lazy dog.".into()), StreamInput::Flush, StreamInput::End]
    {
        stream.send(input).await.expect("send");
    }
    let (events, result) = common::collect(&mut stream).await;
    result.expect("tts succeeds");
    let samples: Vec<i16> = events
        .iter()
        .filter_map(|e| if let Event::Tts(TtsEvent::Audio(a)) = e { Some(a.pcm.clone()) } else { None })
        .flatten()
        .collect::<Vec<u8>>()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(samples.len() > 16_000, "at least a second of audio");

    let listen = ProviderSettings {
        provider: "deepgram".into(),
        model: "nova-3".into(),
        language: Some("en".into()),
        ..Default::default()
    };
    let request = OpenRequest::Stt(stt::Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language: false,
        diarization: false,
        keyterms: vec![],
        endpointing_ms: Some(300),
        options: "{}".into(),
    });
    let mut stream = runtime.open(&listen, request).await.expect("open stt");
    for frame in samples.chunks(320) {
        stream.send(StreamInput::Audio(frame.to_vec())).await.expect("send");
    }
    stream.send(StreamInput::Flush).await.expect("flush");
    stream.send(StreamInput::End).await.expect("end");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("stt succeeds");
    let heard: String = events
        .iter()
        .filter_map(|e| if let Event::Stt(SttEvent::Final(t)) = e { Some(t.text.as_str()) } else { None })
        .collect::<Vec<_>>()
        .join(" ");
    assert!(heard.to_lowercase().contains("fox"), "{heard}");
}
