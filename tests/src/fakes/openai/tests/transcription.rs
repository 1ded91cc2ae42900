use anyhow::Result;
use serde_json::Value;

use super::{KEY, client};
use crate::audio::{sine_samples, wav_bytes};
use crate::fakes::openai::{self, OpenAiScript, TranscriptionScript};

const BOUNDARY: &str = "fake-test-boundary-7f3a";

/// A multipart/form-data body built by hand, so tests control every byte.
fn form(fields: &[(&str, &str)], file: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some(file) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n\
                 Content-Type: audio/wav\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(fake: &openai::OpenAiFake, content_type: &str, body: Vec<u8>) -> Result<reqwest::Response> {
    Ok(client()
        .post(format!("{}/audio/transcriptions", fake.base_url()))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?)
}

fn multipart() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

#[tokio::test]
async fn wav_uploads_are_decoded_recorded_and_answered() -> Result<()> {
    let samples = sine_samples(220.0, 16_000, 1_500);
    let wav = wav_bytes(&samples, 16_000)?;
    let fake =
        openai::start(OpenAiScript::new().api_key(KEY).transcription(TranscriptionScript::text("Book a table.")));
    let body = form(&[("model", "whisper-1"), ("language", "en")], Some(&wav));
    let response = upload(&fake, &multipart(), body).await?;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await?;
    assert_eq!(json["text"], "Book a table.");
    assert_eq!(json["usage"]["type"], "duration");
    assert_eq!(json["usage"]["seconds"], 2);

    let records = fake.transcriptions();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!((record.model.as_str(), record.response_format.as_str()), ("whisper-1", "json"));
    assert_eq!(record.field("language"), Some("en"));
    assert_eq!((record.sample_rate, record.channels, record.sample_count()), (16_000, 1, 24_000));
    assert_eq!(record.samples, samples);
    assert_eq!(record.file_name.as_deref(), Some("audio.wav"));
    assert_eq!(record.file_content_type.as_deref(), Some("audio/wav"));
    assert!((record.duration_ms() - 1_500.0).abs() < 1e-9);
    Ok(())
}

#[tokio::test]
async fn response_formats_follow_the_api() -> Result<()> {
    let wav = wav_bytes(&sine_samples(220.0, 24_000, 1_000), 24_000)?;
    let fake = openai::start(TranscriptionScript::text("Hello, big world."));
    let verbose = form(
        &[("model", "whisper-1"), ("response_format", "verbose_json"), ("timestamp_granularities[]", "word")],
        Some(&wav),
    );
    let json: Value = upload(&fake, &multipart(), verbose).await?.json().await?;
    assert_eq!(json["task"], "transcribe");
    assert_eq!(json["duration"], 1.0);
    let words: Vec<&str> = json["words"].as_array().into_iter().flatten().filter_map(|w| w["word"].as_str()).collect();
    assert_eq!(words, ["Hello", "big", "world"]);
    assert!(json.get("segments").is_none(), "only the asked granularity");

    let text = form(&[("model", "whisper-1"), ("response_format", "text")], Some(&wav));
    let response = upload(&fake, &multipart(), text).await?;
    assert!(response.headers()["content-type"].to_str()?.starts_with("text/plain"));
    assert_eq!(response.text().await?, "Hello, big world.\n");

    let tokens = form(&[("model", "gpt-4o-mini-transcribe")], Some(&wav));
    let json: Value = upload(&fake, &multipart(), tokens).await?.json().await?;
    assert_eq!(json["usage"]["type"], "tokens");
    let incompatible = form(&[("model", "gpt-4o-transcribe"), ("response_format", "verbose_json")], Some(&wav));
    assert_eq!(upload(&fake, &multipart(), incompatible).await?.status(), 400);
    Ok(())
}

#[tokio::test]
async fn bad_uploads_get_400s() -> Result<()> {
    let wav = wav_bytes(&sine_samples(220.0, 16_000, 500), 16_000)?;
    let fake = openai::start(TranscriptionScript::default());
    let error = |json: Value| json["error"]["message"].as_str().unwrap_or_default().to_owned();

    let wrong_boundary =
        upload(&fake, "multipart/form-data; boundary=other", form(&[("model", "whisper-1")], Some(&wav))).await?;
    assert_eq!(wrong_boundary.status(), 400);
    let no_boundary = upload(&fake, "multipart/form-data", form(&[("model", "whisper-1")], Some(&wav))).await?;
    assert_eq!(no_boundary.status(), 400);
    let mut truncated = form(&[("model", "whisper-1")], Some(&wav));
    truncated.truncate(truncated.len() - 10);
    assert_eq!(upload(&fake, &multipart(), truncated).await?.status(), 400);

    let not_wav = upload(&fake, &multipart(), form(&[("model", "whisper-1")], Some(b"ID3 mp3ish"))).await?;
    assert_eq!(not_wav.status(), 400);
    assert!(error(not_wav.json().await?).starts_with("Invalid file format"));
    let no_model = upload(&fake, &multipart(), form(&[], Some(&wav))).await?;
    assert!(error(no_model.json().await?).contains("model"));
    let no_file = upload(&fake, &multipart(), form(&[("model", "whisper-1")], None)).await?;
    assert_eq!(no_file.json::<Value>().await?["error"]["param"], "file");

    let stereo = {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec)?;
        for _ in 0..8_000 {
            writer.write_sample(0i16)?;
        }
        writer.finalize()?;
        cursor.into_inner()
    };
    let response = upload(&fake, &multipart(), form(&[("model", "whisper-1")], Some(&stereo))).await?;
    assert_eq!(response.status(), 400);
    let short = wav_bytes(&sine_samples(220.0, 16_000, 50), 16_000)?;
    let response = upload(&fake, &multipart(), form(&[("model", "whisper-1")], Some(&short))).await?;
    assert_eq!(response.json::<Value>().await?["error"]["code"], "audio_too_short");
    assert!(fake.transcriptions().is_empty(), "only valid uploads are recorded");
    Ok(())
}
