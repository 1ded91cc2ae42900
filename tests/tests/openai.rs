//! The OpenAI plugin, end to end: host runtime → wasm adapter → host HTTP driver → a faithful
//! fake of the OpenAI API on loopback.

use crate::common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use voiceblox_host::egress::{PolicyError, Secret};
use voiceblox_host::plugin::types::{Event, FinishReason, LlmEvent, ProviderError, SttEvent, TtsEvent, Usage};
use voiceblox_host::plugin::{OpenRequest, ProviderSettings, StreamError, StreamInput, StreamOutput, llm, tts};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript, SpeechScript, TranscriptionScript};

const KEY: &str = "sk-test-4f8a";

fn chat(text: &str) -> OpenRequest {
    OpenRequest::Llm(llm::Request {
        messages: vec![
            llm::Message {
                role: llm::Role::System,
                content: "Be brief.".into(),
                tool_calls: vec![],
                tool_call_id: None,
            },
            llm::Message { role: llm::Role::User, content: text.into(), tool_calls: vec![], tool_call_id: None },
        ],
        tools: vec![llm::ToolDefinition {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
        }],
        temperature: Some(0.2),
        max_tokens: Some(200),
        extras: "{}".into(),
    })
}

fn openai_settings(model: &str) -> ProviderSettings {
    ProviderSettings { provider: "openai".into(), model: model.into(), ..Default::default() }
}

/// A runtime whose environment holds the key and points OPENAI_BASE_URL at the fake, with
/// the fake's loopback address allowed by the operator.
async fn runtime_for(fake: &openai::OpenAiFake) -> (voiceblox_host::plugin::PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    common::runtime(&[&allow], &[("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", &fake.base_url())]).await
}

fn text_of(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Llm(LlmEvent::TextDelta(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn streams_text_usage_and_finish_with_the_key_filled_in_by_the_host() {
    let fake = OpenAiScript::new()
        .api_key(KEY)
        .chat(ChatScript::text(["Hel", "lo", " there", "."]).with_usage(21, 4).with_cached_tokens(8))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&openai_settings("openai/gpt-4.1-mini"), chat("Say hello")).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(text_of(&events), "Hello there.");
    assert!(events.contains(&Event::Llm(LlmEvent::Usage(Usage {
        prompt_tokens: 21,
        completion_tokens: 4,
        cached_prompt_tokens: 8
    }))));
    assert_eq!(events.last(), Some(&Event::Llm(LlmEvent::Finish(FinishReason::Stop))));

    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    let body = requests[0].json().unwrap();
    assert_eq!(body["model"], "gpt-4.1-mini", "the provider/ prefix is removed");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][1]["content"], "Say hello");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
}

#[tokio::test]
async fn tool_call_deltas_arrive_as_one_complete_call() {
    let arguments = r#"{"city":"Paris","unit":"celsius"}"#;
    let fake = OpenAiScript::new()
        .chat(ChatScript::new().tool_call("call_abc123", "get_weather", arguments).finish_reason("tool_calls"))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&openai_settings("gpt-4.1-mini"), chat("Weather in Paris?")).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let calls: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Llm(LlmEvent::ToolCall(call)) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1, "{events:?}");
    assert_eq!(calls[0].id, "call_abc123");
    assert_eq!(calls[0].name, "get_weather");
    assert_eq!(calls[0].arguments, arguments);
    assert!(events.contains(&Event::Llm(LlmEvent::Finish(FinishReason::ToolCalls))));
}

#[tokio::test]
async fn provider_errors_are_typed_and_the_runtime_keeps_serving() {
    let fake = OpenAiScript::new()
        .chat(ChatScript::error(401))
        .chat(ChatScript::error(429).retry_after(2))
        .chat(ChatScript::error(500))
        .chat(ChatScript::malformed())
        .chat(ChatScript::text(["fine"]))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let mut stream = runtime.open(&openai_settings("gpt-4.1-mini"), chat("x")).await.unwrap();
        match common::collect(&mut stream).await.1 {
            Err(StreamError::Provider { error, .. }) => outcomes.push(error),
            other => panic!("expected a provider error, got {other:?}"),
        }
    }
    assert!(matches!(outcomes[0], ProviderError::Unauthorized(_)), "{:?}", outcomes[0]);
    assert!(
        matches!(&outcomes[1], ProviderError::RateLimited(r) if r.retry_after_ms == Some(2000)),
        "{:?}",
        outcomes[1]
    );
    assert!(matches!(outcomes[2], ProviderError::Unavailable(_)), "{:?}", outcomes[2]);
    assert!(matches!(outcomes[3], ProviderError::Protocol(_)), "{:?}", outcomes[3]);
    let mut stream = runtime.open(&openai_settings("gpt-4.1-mini"), chat("x")).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(text_of(&events), "fine");
}

#[tokio::test]
async fn a_loopback_base_url_needs_an_explicit_operator_allow() {
    let fake = OpenAiScript::new().start();
    let (runtime, _dir) = common::runtime(&[], &[("OPENAI_API_KEY", KEY)]).await;
    let settings = ProviderSettings { base_url: Some(fake.base_url()), ..openai_settings("gpt-4.1-mini") };
    let mut stream = runtime.open(&settings, chat("x")).await.unwrap();
    let err = common::collect(&mut stream).await.1.unwrap_err();
    assert!(matches!(err, StreamError::Denied { source: PolicyError::PrivateAddress { .. }, .. }), "{err}");
    assert!(fake.requests().is_empty(), "nothing reached the fake");
}

#[tokio::test]
async fn a_key_in_the_settings_wins_over_the_environment_and_never_leaks_into_errors() {
    let fake = OpenAiScript::new().api_key("sk-right").start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let settings = ProviderSettings { api_key: Some(Secret::new("sk-wrong-1234")), ..openai_settings("gpt-4.1-mini") };
    let mut stream = runtime.open(&settings, chat("x")).await.unwrap();
    let err = common::collect(&mut stream).await.1.unwrap_err();
    assert!(matches!(err, StreamError::Provider { error: ProviderError::Unauthorized(_), .. }), "{err}");
    assert_eq!(fake.chat_requests()[0].header("authorization"), Some("Bearer sk-wrong-1234"));
    assert!(!err.to_string().contains("sk-wrong-1234"), "{err}");
}

#[tokio::test]
async fn a_stalled_response_times_out() {
    let fake = OpenAiScript::new().chat(ChatScript::text(["partial"]).hang()).start();
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    let timeouts = voiceblox_host::plugin::Timeouts { idle: Duration::from_millis(300), ..Default::default() };
    let (runtime, _dir) = common::runtime_with_timeouts(
        &[&allow],
        &[("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", &fake.base_url())],
        timeouts,
    )
    .await;
    let mut stream = runtime.open(&openai_settings("gpt-4.1-mini"), chat("x")).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    assert_eq!(text_of(&events), "partial");
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Provider { error: ProviderError::Timeout(_), .. }), "{err}");
}

/// Dropping a stream's handle closes its connection at once: a raw TCP server sees EOF.
#[tokio::test]
async fn dropping_the_stream_cancels_the_request_in_flight() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut buf).await.unwrap();
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
        socket.write_all(format!("{head}{:x}\r\n{event}\r\n", event.len()).as_bytes()).await.unwrap();
        // Block until the client goes away; a read of 0 bytes is its FIN.
        tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await
    });
    let base = format!("http://127.0.0.1:{port}/v1");
    let (runtime, _dir) =
        common::runtime(&[&format!("127.0.0.1:{port}")], &[("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", &base)]).await;
    let mut stream = runtime.open(&openai_settings("gpt-4.1-mini"), chat("x")).await.unwrap();
    match stream.next().await {
        Some(StreamOutput::Event(Event::Llm(LlmEvent::TextDelta(text)))) => assert_eq!(text, "Hi"),
        other => panic!("expected the first delta, got {other:?}"),
    }
    drop(stream);
    let read = server.await.unwrap().expect("the connection was not closed within 5 s of the drop");
    assert_eq!(read.unwrap(), 0, "EOF");
}

#[tokio::test]
async fn speech_streams_exact_pcm_per_flush() {
    let script = SpeechScript::tone();
    let fake = OpenAiScript::new().api_key(KEY).speech(script.clone()).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let request =
        OpenRequest::Tts(tts::Request { voice: Some("nova".into()), sample_rate: None, options: "{}".into() });
    let mut stream = runtime.open(&openai_settings("gpt-4o-mini-tts"), request).await.unwrap();
    for input in [
        StreamInput::Text("Hello there.".into()),
        StreamInput::Flush,
        StreamInput::Text("How are you?".into()),
        StreamInput::Flush,
        StreamInput::End,
    ] {
        stream.send(input).await.unwrap();
    }
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let mut pcm = Vec::new();
    let mut flushed = 0;
    for event in &events {
        match event {
            Event::Tts(TtsEvent::Audio(audio)) => {
                assert_eq!(audio.sample_rate, 24_000);
                assert_eq!(audio.pcm.len() % 2, 0, "whole samples only");
                pcm.extend_from_slice(&audio.pcm);
            }
            Event::Tts(TtsEvent::Flushed) => flushed += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(flushed, 2);
    let expected = [script.pcm_for("Hello there."), script.pcm_for("How are you?")].concat();
    assert_eq!(pcm.len(), expected.len());
    assert!(pcm == expected, "audio differs from what the fake sent");
    let bodies: Vec<_> = fake.speech_requests().iter().map(|r| r.json().unwrap()).collect();
    assert_eq!(bodies[0]["input"], "Hello there.");
    assert_eq!(bodies[1]["input"], "How are you?");
    assert_eq!(bodies[0]["voice"], "nova");
    assert_eq!(bodies[0]["response_format"], "pcm");
}

#[tokio::test]
async fn batch_transcription_uploads_a_wav_of_exactly_the_audio_sent() {
    let fake =
        OpenAiScript::new().api_key(KEY).transcription(TranscriptionScript::text("Book a table for two.")).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let request = common::stt_request(false, None);
    let settings = ProviderSettings { language: Some("en-US".into()), ..openai_settings("gpt-4o-mini-transcribe") };
    let mut stream = runtime.open(&settings, request).await.unwrap();
    let samples = voiceblox_tests::audio::sine_samples(220.0, 16_000, 1_000);
    for frame in samples.chunks(320) {
        stream.send(StreamInput::Audio(frame.to_vec())).await.unwrap();
    }
    stream.send(StreamInput::Flush).await.unwrap();
    stream.send(StreamInput::End).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let finals: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Stt(SttEvent::Final(t)) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].text, "Book a table for two.");
    assert!(finals[0].speech_final);
    let upload = &fake.transcriptions()[0];
    assert_eq!(upload.sample_rate, 16_000);
    assert_eq!(upload.channels, 1);
    assert_eq!(upload.sample_count(), samples.len());
    assert_eq!(upload.model, "gpt-4o-mini-transcribe");
    assert_eq!(upload.field("language"), Some("en"));
}
