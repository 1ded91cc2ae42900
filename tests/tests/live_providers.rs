//! Opt-in: the shipped plugins against the real provider APIs. Each test runs only when its
//! key is in the environment (`OPENAI_API_KEY`, `DEEPGRAM_API_KEY`, `ANTHROPIC_API_KEY`,
//! `GOOGLE_API_KEY` or `GEMINI_API_KEY`, `ELEVENLABS_API_KEY` or `ELEVEN_API_KEY`,
//! `CARTESIA_API_KEY`, `ASSEMBLYAI_API_KEY`) and otherwise says so and passes; the providers'
//! `*_BASE_URL` variables are honoured as the host reads them.
//!
//! ```sh
//! OPENAI_API_KEY=sk-... DEEPGRAM_API_KEY=... cargo test -p voiceblox-tests --test e2e live_providers:: -- --nocapture
//! ```

use crate::common;

use voiceblox_host::egress::NetworkPolicy;
use voiceblox_host::plugin::types::{Event, LlmEvent, SttEvent, TtsEvent};
use voiceblox_host::plugin::{
    OpenRequest, PluginRegistry, PluginRuntime, ProviderSettings, StreamInput, Timeouts, default_plugins_dir, tts,
};

fn key(var: &str) -> Option<String> {
    keys(&[var])
}

/// The first of `vars` that is set; none (and a note) when none is.
fn keys(vars: &[&str]) -> Option<String> {
    let value = vars.iter().find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()));
    if value.is_none() {
        eprintln!("{} not set: skipping the live test", vars.join(" or "));
    }
    value
}

async fn live_runtime() -> PluginRuntime {
    let registry = PluginRegistry::load_dir(&common::engine(), &common::cache(), &default_plugins_dir()).await;
    PluginRuntime::new(registry, NetworkPolicy::default(), Timeouts::default()).expect("runtime")
}

#[tokio::test]
async fn openai_chat_completion() {
    if key("OPENAI_API_KEY").is_some() {
        says_pong("openai", "gpt-4.1-mini").await;
    }
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
    let request = common::stt_request(true, Some(300));
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

/// One short reply from a live LLM: the word asked for, usage and a finish.
async fn says_pong(provider: &str, model: &str) {
    let runtime = live_runtime().await;
    let settings = ProviderSettings { provider: provider.into(), model: model.into(), ..Default::default() };
    let mut stream =
        runtime.open(&settings, common::llm_request("Reply with the single word: pong")).await.expect("open");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("the live call succeeds");
    let text: String = events
        .iter()
        .filter_map(|e| if let Event::Llm(LlmEvent::TextDelta(t)) = e { Some(t.as_str()) } else { None })
        .collect();
    assert!(text.to_lowercase().contains("pong"), "{provider}: {text}");
    assert!(events.iter().any(|e| matches!(e, Event::Llm(LlmEvent::Usage(_)))), "{provider}: no usage");
    assert!(events.iter().any(|e| matches!(e, Event::Llm(LlmEvent::Finish(_)))), "{provider}: no finish");
}

/// A sentence from a live TTS: at least a second of audio, at the rate the events say.
async fn speaks(provider: &str, model: &str) {
    let runtime = live_runtime().await;
    let settings = ProviderSettings { provider: provider.into(), model: model.into(), ..Default::default() };
    let request = OpenRequest::Tts(tts::Request { voice: None, sample_rate: Some(16_000), options: "{}".into() });
    let mut stream = runtime.open(&settings, request).await.expect("open tts");
    for input in
        [StreamInput::Text("The quick brown fox jumps over the lazy dog.".into()), StreamInput::Flush, StreamInput::End]
    {
        stream.send(input).await.expect("send");
    }
    let (events, result) = common::collect(&mut stream).await;
    result.expect("tts succeeds");
    let audio: Vec<(usize, u32)> = events
        .iter()
        .filter_map(|e| if let Event::Tts(TtsEvent::Audio(a)) = e { Some((a.pcm.len(), a.sample_rate)) } else { None })
        .collect();
    let rate = audio.first().map_or(16_000, |(_, rate)| *rate);
    let bytes: usize = audio.iter().map(|(len, _)| len).sum();
    assert!(bytes / 2 > rate as usize, "{provider}: {bytes} bytes at {rate} Hz is under a second");
    assert!(events.iter().any(|e| matches!(e, Event::Tts(TtsEvent::Flushed))), "{provider}: no flushed");
}

#[tokio::test]
async fn anthropic_message() {
    if key("ANTHROPIC_API_KEY").is_some() {
        says_pong("anthropic", "claude-haiku-4-5").await;
    }
}

#[tokio::test]
async fn gemini_generate_content() {
    if keys(&["GOOGLE_API_KEY", "GEMINI_API_KEY"]).is_some() {
        says_pong("google", "gemini-2.5-flash").await;
    }
}

#[tokio::test]
async fn elevenlabs_speaks() {
    if keys(&["ELEVENLABS_API_KEY", "ELEVEN_API_KEY"]).is_some() {
        speaks("elevenlabs", "eleven_flash_v2_5").await;
    }
}

#[tokio::test]
async fn cartesia_speaks() {
    if key("CARTESIA_API_KEY").is_some() {
        speaks("cartesia", "sonic-2").await;
    }
}

/// AssemblyAI streaming hears the LibriVox sentence.
#[tokio::test]
async fn assemblyai_transcribes_a_recording() {
    if key("ASSEMBLYAI_API_KEY").is_none() {
        return;
    }
    let runtime = live_runtime().await;
    let settings = ProviderSettings {
        provider: "assemblyai".into(),
        model: "universal-streaming-english".into(),
        language: Some("en".into()),
        ..Default::default()
    };
    let request = common::stt_request(true, Some(500));
    let mut stream = runtime.open(&settings, request).await.expect("open stt");
    let mut samples = voiceblox_tests::audio::librivox();
    samples.extend(voiceblox_tests::audio::silence_samples(16_000, 1_000));
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
    assert!(heard.to_lowercase().contains("young man"), "{heard}");
}
