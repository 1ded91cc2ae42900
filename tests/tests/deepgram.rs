//! The Deepgram plugin, end to end: streaming STT over a real WebSocket and TTS over chunked
//! HTTP, against a faithful fake of Deepgram's API on loopback.

use crate::common;

use std::time::Duration;

use voiceblox_host::plugin::types::{Event, ProviderError, SttEvent, TtsEvent};
use voiceblox_host::plugin::{
    OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamInput, stt, tts,
};
use voiceblox_tests::audio::{silence_samples, sine_samples};
use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript, SpeakScript};

const KEY: &str = "dg-test-key-77";

async fn runtime_for(fake: &deepgram::DeepgramFake) -> (PluginRuntime, tempfile::TempDir) {
    let allow = format!("127.0.0.1:{}", fake.addr().port());
    common::runtime(&[&allow], &[("DEEPGRAM_API_KEY", KEY), ("DEEPGRAM_BASE_URL", &fake.base_url())]).await
}

fn listen_request() -> OpenRequest {
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

fn settings(model: &str) -> ProviderSettings {
    ProviderSettings {
        provider: "deepgram".into(),
        model: model.into(),
        language: Some("en".into()),
        ..Default::default()
    }
}

/// Sends `samples` as 20 ms frames, then optionally `flush`/`end`.
async fn send_audio(stream: &StreamHandle, samples: &[i16]) {
    for frame in samples.chunks(320) {
        stream.send(StreamInput::Audio(frame.to_vec())).await.unwrap();
    }
}

#[tokio::test]
async fn streams_interim_and_final_transcripts_and_closes_cleanly() {
    let fake = DeepgramScript::new().api_key(KEY).listen(ListenScript::transcript("book a table for two")).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&settings("nova-3"), listen_request()).await.unwrap();
    let speech =
        [silence_samples(16_000, 200), sine_samples(300.0, 16_000, 1_600), silence_samples(16_000, 600)].concat();
    send_audio(&stream, &speech).await;
    stream.send(StreamInput::End).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();

    let interims: Vec<_> =
        events.iter().filter_map(|e| if let Event::Stt(SttEvent::Interim(t)) = e { Some(t) } else { None }).collect();
    let finals: Vec<_> =
        events.iter().filter_map(|e| if let Event::Stt(SttEvent::Final(t)) = e { Some(t) } else { None }).collect();
    assert!(interims.len() >= 3, "one interim per new word: {interims:?}");
    assert!(interims.iter().all(|t| !t.text.is_empty()), "empty interims are not emitted");
    assert_eq!(finals.len(), 1, "{finals:?}");
    let final_text = finals[0].text.to_lowercase();
    assert!(final_text.contains("book a table for two"), "{final_text}");
    assert_eq!(finals[0].words.len(), 5);
    assert!(finals[0].words.windows(2).all(|w| w[0].end_ms <= w[1].start_ms), "word times are ordered");
    assert!(finals[0].words[0].start_ms >= 300, "offsets are stream-relative: {:?}", finals[0].words[0]);
    assert!(events.iter().any(|e| matches!(e, Event::Stt(SttEvent::SpeechStarted(_)))));

    let session = &fake.sessions()[0];
    assert_eq!(session.query_param("encoding"), Some("linear16"));
    assert_eq!(session.query_param("sample_rate"), Some("16000"));
    assert_eq!(session.query_param("model"), Some("nova-3"));
    assert_eq!(session.query_values("keyterm"), vec!["voiceblox"]);
    assert_eq!(session.samples().unwrap(), speech, "every sample arrived, in order");
    assert_eq!(session.close_streams, 1, "end sends CloseStream");
}

#[tokio::test]
async fn flush_finalizes_the_current_utterance() {
    let script = ListenScript::transcript("hello there friend").no_silence_results();
    let fake = DeepgramScript::new().listen(script).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&settings("nova-3"), listen_request()).await.unwrap();
    // Stop mid-utterance (300 ms lead-in + 2 of 3 words), then ask for a final.
    send_audio(&stream, &sine_samples(300.0, 16_000, 800)).await;
    stream.send(StreamInput::Flush).await.unwrap();
    let final_text = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap() {
            Some(voiceblox_host::plugin::StreamOutput::Event(Event::Stt(SttEvent::Final(t)))) => break t.text,
            Some(voiceblox_host::plugin::StreamOutput::Event(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert!(final_text.to_lowercase().starts_with("hello there"), "{final_text}");
    assert_eq!(fake.sessions()[0].finalizes, 1);
}

#[tokio::test]
async fn a_rejected_handshake_is_unauthorized() {
    let fake = DeepgramScript::new().api_key("another-key").start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut stream = runtime.open(&settings("nova-3"), listen_request()).await.unwrap();
    let err = common::collect(&mut stream).await.1.unwrap_err();
    match &err {
        StreamError::Provider { error: ProviderError::Unauthorized(message), .. } => {
            assert!(message.contains("401"), "{message}");
            assert!(!message.contains(KEY), "no key in errors: {message}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_dropped_connection_fails_that_stream_and_the_next_one_works() {
    let fake = DeepgramScript::new()
        .listen(ListenScript::transcript("first try").drop_at(500))
        .listen(ListenScript::transcript("second try"))
        .start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let mut broken = runtime.open(&settings("nova-3"), listen_request()).await.unwrap();
    let sender = broken.sender();
    let feeder = tokio::spawn(async move {
        for frame in sine_samples(300.0, 16_000, 2_000).chunks(320) {
            if sender.send(StreamInput::Audio(frame.to_vec())).await.is_err() {
                break;
            }
        }
    });
    let err = common::collect(&mut broken).await.1.unwrap_err();
    assert!(matches!(err, StreamError::Provider { .. }), "{err}");
    feeder.abort();

    let mut stream = runtime.open(&settings("nova-3"), listen_request()).await.unwrap();
    send_audio(&stream, &[sine_samples(300.0, 16_000, 1_200), silence_samples(16_000, 400)].concat()).await;
    stream.send(StreamInput::End).await.unwrap();
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Stt(SttEvent::Final(t)) if t.text.to_lowercase().contains("second try")))
    );
}

#[tokio::test]
async fn silence_is_kept_alive() {
    let fake = DeepgramScript::new().listen(ListenScript::new().no_silence_results()).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let stream = runtime.open(&settings("nova-3"), listen_request()).await.unwrap();
    fake.wait_for(Duration::from_secs(8), |sessions| sessions.first().is_some_and(|s| s.keep_alives >= 1))
        .await
        .unwrap();
    drop(stream);
}

#[tokio::test]
async fn speak_streams_exact_pcm_at_the_requested_rate() {
    let script = SpeakScript::tone();
    let fake = DeepgramScript::new().api_key(KEY).speak(script.clone()).start();
    let (runtime, _dir) = runtime_for(&fake).await;
    let request = OpenRequest::Tts(tts::Request { voice: None, sample_rate: Some(16_000), options: "{}".into() });
    let mut stream = runtime.open(&settings("aura-2-thalia-en"), request).await.unwrap();
    for input in [StreamInput::Text("Your table is booked.".into()), StreamInput::Flush, StreamInput::End] {
        stream.send(input).await.unwrap();
    }
    let (events, result) = common::collect(&mut stream).await;
    result.unwrap();
    let mut pcm = Vec::new();
    for event in &events {
        if let Event::Tts(TtsEvent::Audio(audio)) = event {
            assert_eq!(audio.sample_rate, 16_000);
            pcm.extend_from_slice(&audio.pcm);
        }
    }
    assert!(pcm == script.pcm_for("Your table is booked.", 16_000), "audio differs from what the fake sent");
    assert!(events.contains(&Event::Tts(TtsEvent::Flushed)));
    let request = &fake.speak_requests()[0];
    assert_eq!(request.header("authorization"), Some(format!("Token {KEY}").as_str()));
    assert_eq!(request.query_param("model").as_deref(), Some("aura-2-thalia-en"));
    assert_eq!(request.json().unwrap()["text"], "Your table is booked.");
}
