//! A plugin binary built for `voiceblox:plugin@0.1.0` keeps working on a host whose contract is
//! 0.2.0: the first-party OpenAI plugin as it was shipped under 0.1.0
//! (`tests/fixtures/contract/`), loaded in place of today's and driven through LLM, TTS and STT
//! streams against the OpenAI fake. The host forwards it (`host/src/plugin/bindings/v0_1_0.rs`).

use crate::common;

use std::path::PathBuf;

use voiceblox_host::plugin::bindings::{latest, v0_1_0};
use voiceblox_host::plugin::types::{Event, FinishReason, LlmEvent, SttEvent, ToolCall, TtsEvent};
use voiceblox_host::plugin::{
    OpenRequest, PluginEngine, PluginRegistry, PluginRuntime, ProviderSettings, SandboxLimits, StreamInput, Timeouts,
    default_plugins_dir, llm, tts,
};
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiFake, OpenAiScript, SpeechScript, TranscriptionScript};

const KEY: &str = "sk-old-plugin-7c1d";

fn old_openai() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/contract/openai-0.1.0.wasm")
}

/// Today's plugins, with the 0.1.0 OpenAI binary in place of today's `openai.wasm`.
fn plugins_with_old_openai() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(default_plugins_dir()).expect("plugins folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        if name != "openai.wasm" {
            std::fs::copy(&path, dir.path().join(name)).expect("copy");
        }
    }
    std::fs::copy(old_openai(), dir.path().join("openai-0.1.0.wasm")).expect("copy the old binary");
    dir
}

async fn runtime_for(fake: &OpenAiFake) -> (PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    let base_url = fake.base_url();
    let env = [("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", base_url.as_str())];
    common::runtime_in(plugins_with_old_openai(), &[&allow], &env, Timeouts::default(), SandboxLimits::default()).await
}

fn settings(model: &str) -> ProviderSettings {
    ProviderSettings { provider: "openai".into(), model: model.into(), ..Default::default() }
}

#[tokio::test]
async fn the_old_binary_loads_beside_todays_plugins_and_says_its_contract() {
    let dir = plugins_with_old_openai();
    let engine = PluginEngine::new(SandboxLimits::default()).expect("engine");
    let registry = PluginRegistry::load_dir(&engine, &common::cache(), dir.path()).await;
    let failures: Vec<String> = registry.failures().iter().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let old = registry.plugins().iter().find(|p| p.name() == "openai").expect("the 0.1.0 openai plugin");
    assert_eq!(old.contract_version(), v0_1_0::VERSION);
    assert!(!old.is_first_party(), "not byte for byte a plugin this host was built with");
    let kinds: Vec<&str> =
        old.provider("openai").expect("provider").kinds.iter().map(|k| voiceblox_host::plugin::kind_name(*k)).collect();
    assert_eq!(kinds, ["llm", "tts", "stt"]);
    let today = registry.plugins().iter().find(|p| p.name() == "anthropic").expect("a current plugin");
    assert_eq!(today.contract_version(), latest::VERSION);
    assert!(latest::VERSION > v0_1_0::VERSION);
}

#[tokio::test]
async fn an_old_llm_plugin_streams_text_and_tool_calls_and_takes_todays_history() {
    let fake = OpenAiScript::new()
        .api_key(KEY)
        .chat(ChatScript::text(["It is ", "sunny."]).with_usage(30, 3))
        .chat(ChatScript::new().tool_call("call_9", "get_weather", r#"{"city":"Oslo"}"#).finish_reason("tool_calls"))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;

    // A conversation that came through a 0.2.0 provider: its tool call carries provider data,
    // which a 0.1.0 plugin cannot take; the call itself must still reach the provider.
    let message =
        |role, content: &str| llm::Message { role, content: content.into(), tool_calls: vec![], tool_call_id: None };
    let mut called = message(llm::Role::Assistant, "");
    called.tool_calls = vec![ToolCall {
        id: "fc_1".into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Paris"}"#.into(),
        provider_data: Some(r#"{"thoughtSignature":"c2ln"}"#.into()),
    }];
    let answer = llm::Message { tool_call_id: Some("fc_1".into()), ..message(llm::Role::Tool, "sunny") };
    let request = |messages: Vec<llm::Message>| {
        OpenRequest::Llm(llm::Request {
            messages,
            tools: vec![llm::ToolDefinition {
                name: "get_weather".into(),
                description: "Weather for a city".into(),
                parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
            }],
            temperature: Some(0.3),
            max_tokens: Some(100),
            extras: "{}".into(),
        })
    };
    let history = vec![message(llm::Role::User, "Weather in Paris?"), called, answer];
    let mut stream = runtime.open(&settings("gpt-4.1-mini"), request(history)).await.expect("open");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("the old plugin finishes");
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Llm(LlmEvent::TextDelta(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "It is sunny.");
    assert_eq!(events.last(), Some(&Event::Llm(LlmEvent::Finish(FinishReason::Stop))));
    let body = fake.chat_requests()[0].json().expect("json body");
    assert_eq!(body["messages"][1]["tool_calls"][0]["id"], "fc_1");
    assert_eq!(body["messages"][1]["tool_calls"][0]["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(body["messages"][2]["tool_call_id"], "fc_1");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(fake.chat_requests()[0].header("authorization"), Some(format!("Bearer {KEY}").as_str()));

    // Its tool calls come up in today's shape, with no provider data.
    let mut stream =
        runtime.open(&settings("gpt-4.1-mini"), request(vec![message(llm::Role::User, "Oslo?")])).await.expect("open");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("finishes");
    assert!(events.contains(&Event::Llm(LlmEvent::ToolCall(ToolCall {
        id: "call_9".into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Oslo"}"#.into(),
        provider_data: None,
    }))));
    assert!(events.contains(&Event::Llm(LlmEvent::Finish(FinishReason::ToolCalls))));
}

#[tokio::test]
async fn old_tts_and_stt_streams_carry_audio_both_ways() {
    let script = SpeechScript::tone();
    let fake = OpenAiScript::new()
        .api_key(KEY)
        .speech(script.clone())
        .transcription(TranscriptionScript::text("A table for two."))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;

    let request =
        OpenRequest::Tts(tts::Request { voice: Some("nova".into()), sample_rate: None, options: "{}".into() });
    let mut stream = runtime.open(&settings("gpt-4o-mini-tts"), request).await.expect("open tts");
    for input in [StreamInput::Text("Hello there.".into()), StreamInput::Flush, StreamInput::End] {
        stream.send(input).await.expect("send");
    }
    let (events, result) = common::collect(&mut stream).await;
    result.expect("speech finishes");
    assert!(common::tts_pcm(&events, 24_000) == script.pcm_for("Hello there."), "the fake's audio, byte for byte");
    assert!(events.contains(&Event::Tts(TtsEvent::Flushed)));

    let request = common::stt_request(false, None);
    let mut stream = runtime.open(&settings("gpt-4o-mini-transcribe"), request).await.expect("open stt");
    let samples = voiceblox_tests::audio::sine_samples(220.0, 16_000, 500);
    for frame in samples.chunks(320) {
        stream.send(StreamInput::Audio(frame.to_vec())).await.expect("send audio");
    }
    stream.send(StreamInput::Flush).await.expect("flush");
    stream.send(StreamInput::End).await.expect("end");
    let (events, result) = common::collect(&mut stream).await;
    result.expect("transcription finishes");
    let finals: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Stt(SttEvent::Final(t)) => Some(t.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finals, ["A table for two."]);
    assert_eq!(fake.transcriptions()[0].sample_count(), samples.len(), "every frame reached the old plugin");
}
