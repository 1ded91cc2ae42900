//! The AssemblyAI plugin, end to end: Universal-Streaming STT over a real WebSocket, against a
//! faithful fake of the `/v3/ws` API on loopback.

use crate::common;

use std::time::Duration;

use voiceblox_host::plugin::types::{Event, ProviderError, SttEvent, Transcript};
use voiceblox_host::plugin::{
    OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamInput, StreamOutput, stt,
};
use voiceblox_tests::audio::{silence_samples, sine_samples};
use voiceblox_tests::fakes::assemblyai::{self, AssemblyAiScript, Formatting, INVALID_KEY_REASON, StreamScript};

const KEY: &str = "aai-test-key-5150";

async fn runtime_for(fake: &assemblyai::AssemblyAiFake) -> (PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    common::runtime(&[&allow], &[("ASSEMBLYAI_API_KEY", KEY), ("ASSEMBLYAI_BASE_URL", &fake.ws_base_url())]).await
}

fn request() -> OpenRequest {
    OpenRequest::Stt(stt::Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language: false,
        diarization: false,
        keyterms: vec!["voiceblox".into()],
        endpointing_ms: Some(300),
        options: "{}".into(),
    })
}

fn settings() -> ProviderSettings {
    ProviderSettings {
        provider: "assemblyai".into(),
        model: String::new(),
        language: Some("en".into()),
        ..Default::default()
    }
}

/// Sends `samples` as the host does: 20 ms frames.
async fn send_audio(stream: &StreamHandle, samples: &[i16]) {
    for frame in samples.chunks(320) {
        stream.send(StreamInput::Audio(frame.to_vec())).await.unwrap();
    }
}

fn interims(events: &[Event]) -> Vec<&Transcript> {
    events.iter().filter_map(|e| if let Event::Stt(SttEvent::Interim(t)) = e { Some(t) } else { None }).collect()
}

fn finals(events: &[Event]) -> Vec<&Transcript> {
    events.iter().filter_map(|e| if let Event::Stt(SttEvent::Final(t)) = e { Some(t) } else { None }).collect()
}

#[tokio::test]
async fn an_utterance_streams_interims_then_one_final_and_ends_cleanly() {
    let fake = AssemblyAiScript::new().api_key(KEY).stream(StreamScript::transcript("Book a table for two.")).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&settings(), request()).await.unwrap();
    let speech =
        [silence_samples(16_000, 200), sine_samples(300.0, 16_000, 1_600), silence_samples(16_000, 600)].concat();
    send_audio(&stream, &speech).await;
    stream.send(StreamInput::End).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();

    let interims = interims(&events);
    assert!(interims.len() >= 5, "one interim per new word: {interims:?}");
    assert!(interims.iter().all(|t| !t.speech_final && !t.text.is_empty()));
    let finals = finals(&events);
    assert_eq!(finals.len(), 1, "{finals:?}");
    assert_eq!(finals[0].text, "Book a table for two.");
    assert!(finals[0].speech_final);
    assert_eq!(finals[0].words.len(), 5);
    assert_eq!((finals[0].words[0].start_ms, finals[0].words[0].end_ms), (300, 550), "stream-relative ms");
    assert_eq!(finals[0].language.as_deref(), Some("en"));
    assert!(events.iter().any(|e| matches!(e, Event::Stt(SttEvent::SpeechStarted(300)))));
    assert!(events.iter().any(|e| matches!(e, Event::Stt(SttEvent::SpeechEnded(1550)))));

    let session = &fake.sessions()[0];
    assert_eq!(session.query_param("speech_model"), Some("universal-streaming-english"));
    assert_eq!(session.query_param("encoding"), Some("pcm_s16le"));
    assert_eq!(session.query_param("sample_rate"), Some("16000"));
    assert_eq!(session.query_param("format_turns"), Some("true"));
    assert_eq!(session.query_param("min_turn_silence"), Some("300"));
    assert_eq!(session.query_param("keyterms_prompt"), Some(r#"["voiceblox"]"#));
    assert_eq!(session.samples().unwrap(), speech, "every sample arrived, in order");
    assert!(session.chunk_ms.iter().all(|ms| (50.0..=1000.0).contains(ms)), "{:?}", session.chunk_ms);
    assert_eq!(session.terminates, 1, "end sends Terminate");
    assert_eq!(session.server_close, Some((1000, String::new())), "the server closed after Termination");
    assert_eq!(session.sent_of_type("Termination").len(), 1);
}

#[tokio::test]
async fn a_trailing_formatted_copy_is_not_a_second_final() {
    let script = StreamScript::transcript("Hello there, friend.").formatting(Formatting::TrailingCopy);
    let fake = AssemblyAiScript::new().stream(script).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&settings(), request()).await.unwrap();
    send_audio(&stream, &[sine_samples(300.0, 16_000, 1_100), silence_samples(16_000, 500)].concat()).await;
    stream.send(StreamInput::End).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(fake.sessions()[0].turn_ends(), ["hello there friend", "Hello there, friend."]);
    let finals = finals(&events);
    assert_eq!(finals.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), ["Hello there, friend."]);
}

#[tokio::test]
async fn flush_forces_the_endpoint_at_once() {
    let fake = AssemblyAiScript::new().stream(StreamScript::transcript("hello there friend")).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&settings(), request()).await.unwrap();
    // Stop mid-utterance (300 ms lead-in + 2 of 3 words), then ask for a final.
    send_audio(&stream, &sine_samples(300.0, 16_000, 800)).await;
    stream.send(StreamInput::Flush).await.unwrap();
    let final_text = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap() {
            Some(StreamOutput::Event(Event::Stt(SttEvent::Final(t)))) => break t.text,
            Some(StreamOutput::Event(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(final_text, "hello there");
    assert_eq!(fake.sessions()[0].force_endpoints, 1);
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_without_the_key_and_without_a_retry() {
    let fake = AssemblyAiScript::new().api_key("another-key").start();
    let (runtime, _dir) = runtime_for(&fake).await;
    // Audio is already waiting when AssemblyAI closes right after the upgrade: the plugin sends
    // it in several messages before it hears of the close, which must not hide the refusal.
    let mut stream = runtime.open(&settings(), request()).await.unwrap();
    for frame in sine_samples(300.0, 16_000, 2_500).chunks(320) {
        stream.sender().send(StreamInput::Audio(frame.to_vec())).await.unwrap();
    }
    let err = common::collect(&mut stream).await.1.unwrap_err();
    match &err {
        StreamError::Provider { error: ProviderError::Unauthorized(message), .. } => {
            assert!(message.contains("1008") && message.contains(INVALID_KEY_REASON), "{message}");
            assert!(!message.contains(KEY), "no key in errors: {message}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(fake.sessions().len(), 1, "one attempt");
}

#[tokio::test]
async fn a_server_error_fails_that_stream_and_the_next_one_works() {
    let fake = AssemblyAiScript::new()
        .stream(StreamScript::transcript("first try").close_at(500, 3005, "Session Cancelled: An error occurred"))
        .stream(StreamScript::transcript("second try"))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut broken = runtime.open(&settings(), request()).await.unwrap();
    let sender = broken.sender();
    let feeder = tokio::spawn(async move {
        for frame in sine_samples(300.0, 16_000, 2_000).chunks(320) {
            if sender.send(StreamInput::Audio(frame.to_vec())).await.is_err() {
                break;
            }
        }
    });
    let err = common::collect(&mut broken).await.1.unwrap_err();
    assert!(matches!(err, StreamError::Provider { error: ProviderError::Unavailable(_), .. }), "{err}");
    feeder.abort();

    let mut stream = runtime.open(&settings(), request()).await.unwrap();
    send_audio(&stream, &[sine_samples(300.0, 16_000, 1_000), silence_samples(16_000, 500)].concat()).await;
    stream.send(StreamInput::End).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert_eq!(finals(&events).iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), ["second try"]);
}
