use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{KEY, client};
use crate::audio::{TONE_AMPLITUDE, rms, s16le_to_samples};
use crate::fakes::openai::{self, OpenAiScript, SPEECH_PATH, SPEECH_SAMPLE_RATE, SpeechScript};
use crate::fakes::test_support::raw_request;

fn speech_body(input: &str) -> Value {
    json!({"model": "gpt-4o-mini-tts", "input": input, "voice": "alloy", "response_format": "pcm"})
}

#[tokio::test]
async fn pcm_streams_in_odd_sized_chunks() -> Result<()> {
    let script = SpeechScript::tone();
    let expected = script.pcm_for("Hello there.");
    let fake = openai::start(OpenAiScript::new().api_key(KEY).speech(script));
    let body = serde_json::to_vec(&speech_body("Hello there."))?;
    let auth = format!("Bearer {KEY}");
    let raw = raw_request(
        fake.addr(),
        "POST",
        SPEECH_PATH,
        &[("authorization", &auth), ("content-type", "application/json")],
        &body,
    )
    .await?;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("audio/pcm"));
    assert_eq!(raw.header("transfer-encoding"), Some("chunked"));
    // 12 characters at 40 ms each, 24 kHz, 2 bytes a sample.
    assert_eq!(expected.len(), 12 * 40 * 24 * 2);
    assert_eq!(raw.body(), expected);
    assert!(raw.chunks.len() > 3);
    let (last, full) = raw.chunks.split_last().map_or((0, &[][..]), |(l, f)| (l.len(), f));
    assert!(full.iter().all(|chunk| chunk.len() == 4801), "boundaries fall mid-sample");
    assert!(last <= 4801);
    let samples = s16le_to_samples(&expected)?;
    assert!(rms(&samples) > 0.25 * TONE_AMPLITUDE);
    assert_eq!(SPEECH_SAMPLE_RATE, 24_000);
    Ok(())
}

#[tokio::test]
async fn speech_requests_are_validated_like_openai() -> Result<()> {
    let fake = openai::start(SpeechScript::tone());
    let url = format!("{}/audio/speech", fake.base_url());
    let cases = [
        (json!({"input": "x", "voice": "alloy", "response_format": "pcm"}), "model"),
        (json!({"model": "tts-1", "voice": "alloy", "response_format": "pcm"}), "input"),
        (json!({"model": "tts-1", "input": "x", "response_format": "pcm"}), "voice"),
        (json!({"model": "tts-1", "input": "x", "voice": "alloy"}), "response_format"),
        (json!({"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "mp3"}), "response_format"),
        (json!({"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "pcm", "speed": 9}), "speed"),
    ];
    for (body, param) in cases {
        let response = client().post(&url).json(&body).send().await?;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await?;
        assert_eq!(error["error"]["param"], param, "{body}");
    }
    let custom_voice = json!({"model": "tts-1", "input": "x", "voice": {"id": "voice_1"}, "response_format": "pcm"});
    assert_eq!(client().post(&url).json(&custom_voice).send().await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn speech_can_fail_hang_or_be_cut() -> Result<()> {
    let fake = openai::start(
        OpenAiScript::new()
            .speech(SpeechScript::error(429).retry_after(2))
            .speech(SpeechScript::tone().chunk_bytes(1001).hang_after(1))
            .speech(SpeechScript::tone().cut_after(1)),
    );
    let url = format!("{}/audio/speech", fake.base_url());
    let limited = client().post(&url).json(&speech_body("Hi")).send().await?;
    assert_eq!((limited.status().as_u16(), limited.headers()["retry-after"].to_str()?), (429, "2"));

    let hanging = client().post(&url).json(&speech_body("Hello there.")).send().await?;
    let mut body = hanging.bytes_stream();
    let mut received = 0;
    while let Ok(Some(Ok(bytes))) = tokio::time::timeout(Duration::from_millis(300), body.next()).await {
        received += bytes.len();
    }
    assert_eq!(received, 1001);

    let cut = client().post(&url).json(&speech_body("Hello there.")).send().await?;
    assert!(cut.bytes().await.is_err());
    Ok(())
}
