use serde_json::json;

use super::*;
use crate::test_support::{CHUNK_SIZES, config, header_pairs, only_request, recording, respond};
use voiceblox_plugin_contract::types::{Transcript, Word};

fn request(keyterms: &[&str], detect_language: bool, options: serde_json::Value) -> Request {
    Request {
        sample_rate: 16_000,
        interim_results: false,
        detect_language,
        diarization: false,
        keyterms: keyterms.iter().map(|k| k.to_string()).collect(),
        endpointing_ms: None,
        options: options.to_string(),
    }
}

fn transcriber(model: &str, language: Option<&str>, request: &Request) -> Transcriber {
    let mut config = config(model, None, json!({}));
    config.language = language.map(str::to_string);
    Transcriber::open(&config, request).unwrap()
}

/// The multipart body split into (headers, content) per part, using the boundary from the
/// content type.
fn parts(request: &HttpRequest) -> Vec<(String, Vec<u8>)> {
    let content_type = header_pairs(request)
        .into_iter()
        .find(|(name, _)| *name == "Content-Type")
        .map(|(_, value)| value.to_string())
        .unwrap();
    let boundary = content_type.split("boundary=").nth(1).unwrap();
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    assert!(body.ends_with(format!("{delimiter}--\r\n").as_bytes()));
    let mut out = Vec::new();
    let mut rest: &[u8] = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = &rest[2..]; // \r\n
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = String::from_utf8(rest[..head_end].to_vec()).unwrap();
        let content_start = head_end + 4;
        let next = find(&rest[content_start..], delimiter.as_bytes()).unwrap();
        out.push((head, rest[content_start..content_start + next - 2].to_vec()));
        rest = &rest[content_start + next..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn field(parts: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    let disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
    parts.iter().find(|(head, _)| head == &disposition).map(|(_, content)| String::from_utf8(content.clone()).unwrap())
}

fn frames(count: usize, value: i16) -> Vec<Input> {
    (0..count).map(|_| Input::Audio(vec![value; 320])).collect()
}

#[test]
fn flush_uploads_buffered_audio_as_wav() {
    let request = request(&[], false, json!({}));
    let mut stt = transcriber("gpt-4o-mini-transcribe", Some("en-US"), &request);
    assert!(stt.handle(Input::Start).is_empty());
    for frame in frames(50, 7) {
        assert!(stt.handle(frame).is_empty());
    }
    let (id, upload) = only_request(&stt.handle(Input::Flush));
    assert_eq!(id, 1);
    assert_eq!(upload.method, "POST");
    assert_eq!(upload.url, "https://api.openai.com/v1/audio/transcriptions");
    let headers = header_pairs(&upload);
    assert_eq!(headers[0], ("Authorization", "Bearer {{api-key}}"));
    assert_eq!(headers[1].0, "Content-Type");
    assert!(headers[1].1.starts_with("multipart/form-data; boundary="));

    let parts = parts(&upload);
    let heads: Vec<&str> = parts.iter().map(|(head, _)| head.as_str()).collect();
    assert_eq!(
        heads,
        [
            "Content-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\nContent-Type: audio/wav",
            "Content-Disposition: form-data; name=\"model\"",
            "Content-Disposition: form-data; name=\"language\"",
            "Content-Disposition: form-data; name=\"response_format\"",
            "Content-Disposition: form-data; name=\"include[]\"",
        ]
    );
    assert_eq!(parts[0].1, wav_s16le_mono(&[7; 16_000], 16_000));
    assert_eq!(field(&parts, "model").as_deref(), Some("gpt-4o-mini-transcribe"));
    assert_eq!(field(&parts, "language").as_deref(), Some("en"));
    assert_eq!(field(&parts, "response_format").as_deref(), Some("json"));
    assert_eq!(field(&parts, "include[]").as_deref(), Some("logprobs"));
}

#[test]
fn json_answer_becomes_one_final_transcript() {
    let request = request(&[], false, json!({}));
    for &size in CHUNK_SIZES {
        let mut stt = transcriber("gpt-4o-mini-transcribe", Some("en-US"), &request);
        for frame in frames(50, 1) {
            stt.handle(frame);
        }
        stt.handle(Input::Flush);
        let actions = respond(
            |i| stt.handle(i),
            1,
            200,
            &[("content-type", "application/json")],
            &recording("transcription_json.json"),
            size,
        );
        let [Action::Emit(Event::Stt(SttEvent::Final(transcript)))] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        assert_eq!(transcript.text, "Cancel my order, please.");
        assert_eq!((transcript.start_ms, transcript.end_ms), (0, 1000));
        assert_eq!(transcript.language.as_deref(), Some("en-US"));
        assert!(transcript.speech_final);
        assert!(transcript.words.is_empty());
        // exp(mean of the six token logprobs) ≈ 0.940
        assert!((transcript.confidence - 0.9402).abs() < 0.001, "{}", transcript.confidence);
        assert_eq!(stt.handle(Input::End), [Action::Finish]);
    }
}

#[test]
fn whisper_gets_word_timestamps_offset_into_the_stream() {
    let request = request(&["Bistro Verde", "two"], true, json!({}));
    let mut stt = transcriber("whisper-1", Some("en"), &request);
    // A first utterance of 0.5 s, then the 1.0 s one the recording answers.
    for frame in frames(25, 0) {
        stt.handle(frame);
    }
    stt.handle(Input::Flush);
    for frame in frames(50, 3) {
        stt.handle(frame);
    }
    assert!(stt.handle(Input::Flush).is_empty(), "the second upload waits for the first");
    let first = respond(|i| stt.handle(i), 1, 200, &[], br#"{"text":""}"#, 4);
    let (second_id, second) = only_request(&first);
    assert_eq!(second_id, 2);
    let parts = parts(&second);
    assert_eq!(field(&parts, "model").as_deref(), Some("whisper-1"));
    assert_eq!(field(&parts, "language"), None, "language detection sends no language");
    assert_eq!(field(&parts, "prompt").as_deref(), Some("Bistro Verde, two"));
    assert_eq!(field(&parts, "response_format").as_deref(), Some("verbose_json"));
    assert_eq!(field(&parts, "timestamp_granularities[]").as_deref(), Some("word"));
    assert_eq!(field(&parts, "include[]"), None);
    let Action::Emit(Event::Stt(SttEvent::Final(empty))) = &first[0] else { panic!("{first:?}") };
    assert_eq!((empty.text.as_str(), empty.start_ms, empty.end_ms), ("", 0, 500));

    assert!(stt.handle(Input::End).is_empty());
    let actions = respond(|i| stt.handle(i), 2, 200, &[], &recording("transcription_whisper_verbose.json"), 29);
    let word =
        |text: &str, start_ms, end_ms| Word { text: text.into(), start_ms, end_ms, confidence: 1.0, speaker: None };
    let expected = Transcript {
        text: "Book a table for two at eight.".into(),
        words: vec![
            word("Book", 500, 820),
            word("a", 820, 900),
            word("table", 900, 1280),
            word("for", 1280, 1460),
            word("two", 1460, 1740),
            word("at", 1740, 1900),
            word("eight", 1900, 2400),
        ],
        confidence: (-0.1823f64).exp() as f32,
        language: Some("en".into()),
        start_ms: 500,
        end_ms: 1500,
        speech_final: true,
    };
    assert_eq!(actions, [Action::Emit(Event::Stt(SttEvent::Final(expected))), Action::Finish]);
}

#[test]
fn prompt_option_wins_over_keyterms() {
    let request = request(&["x"], false, json!({"prompt": "Restaurant booking call."}));
    let mut stt = transcriber("gpt-4o-transcribe", None, &request);
    stt.handle(Input::Audio(vec![1; 160]));
    let (_, upload) = only_request(&stt.handle(Input::End));
    let parts = parts(&upload);
    assert_eq!(field(&parts, "prompt").as_deref(), Some("Restaurant booking call."));
    assert_eq!(field(&parts, "language"), None);
}

#[test]
fn no_audio_means_no_request() {
    let request = request(&[], false, json!({}));
    let mut stt = transcriber("gpt-4o-mini-transcribe", None, &request);
    assert!(stt.handle(Input::Flush).is_empty());
    assert!(stt.handle(Input::Audio(Vec::new())).is_empty());
    assert!(stt.handle(Input::Flush).is_empty());
    assert_eq!(stt.handle(Input::End), [Action::Finish]);
}

#[test]
fn audio_after_end_is_ignored() {
    let request = request(&[], false, json!({}));
    let mut stt = transcriber("gpt-4o-mini-transcribe", None, &request);
    stt.handle(Input::Audio(vec![1; 160]));
    let (id, _) = only_request(&stt.handle(Input::End));
    assert!(stt.handle(Input::Audio(vec![1; 160])).is_empty());
    let actions = respond(|i| stt.handle(i), id, 200, &[], br#"{"text":"ok"}"#, 100);
    assert_eq!(actions.last(), Some(&Action::Finish));
    assert_eq!(actions.len(), 2);
}

#[test]
fn upload_errors_fail_with_the_provider_message() {
    let request = request(&[], false, json!({}));
    let mut stt = transcriber("gpt-4o-mini-transcribe", None, &request);
    stt.handle(Input::Audio(vec![1; 16]));
    stt.handle(Input::Flush);
    let actions = respond(|i| stt.handle(i), 1, 400, &[], &recording("transcription_error_400.json"), 11);
    assert_eq!(
        actions,
        [Action::Fail(ProviderError::InvalidRequest(
            "openai returned HTTP 400: Audio file is too short. Minimum audio length is 0.1 seconds.".into()
        ))]
    );
}

#[test]
fn malformed_answer_is_a_protocol_error() {
    let request = request(&[], false, json!({}));
    let mut stt = transcriber("gpt-4o-mini-transcribe", None, &request);
    stt.handle(Input::Audio(vec![1; 16]));
    stt.handle(Input::Flush);
    let actions = respond(|i| stt.handle(i), 1, 200, &[], b"{\"text\": ", 3);
    assert!(
        matches!(actions.as_slice(), [Action::Fail(ProviderError::Protocol(m))] if m.starts_with("malformed transcription")),
        "{actions:?}"
    );
}

#[test]
fn zero_sample_rate_is_refused() {
    let mut request = request(&[], false, json!({}));
    request.sample_rate = 0;
    assert_eq!(
        Transcriber::open(&config("whisper-1", None, json!({})), &request).unwrap_err(),
        ProviderError::InvalidRequest("sample-rate must be positive".into())
    );
}
