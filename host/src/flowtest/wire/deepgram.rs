//! Deepgram's live transcription messages (`/v1/listen`), for a flow test's scripted STT:
//! the final `Results` a `Finalize` is answered with, and the `Metadata` before closing.

use serde_json::json;

/// A final transcript of the audio between `start` and `start + duration` (seconds), its
/// words spread evenly over it, as Deepgram answers a `Finalize`.
pub fn finalized(number: usize, transcript: &str, start: f64, duration: f64) -> String {
    let words: Vec<&str> = transcript.split_whitespace().collect();
    let step = duration / words.len().max(1) as f64;
    let words: Vec<_> = words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let bare: String = word.chars().filter(|c| c.is_alphanumeric() || *c == '\'').collect();
            json!({
                "word": bare.to_lowercase(),
                "start": start + step * i as f64,
                "end": start + step * (i + 1) as f64,
                "confidence": 0.99,
                "punctuated_word": word,
            })
        })
        .collect();
    json!({
        "type": "Results",
        "channel_index": [0, 1],
        "duration": duration,
        "start": start,
        "is_final": true,
        "speech_final": true,
        "channel": {"alternatives": [{"transcript": transcript, "confidence": 0.99, "words": words}]},
        "metadata": {"request_id": format!("flowtest-{number}"), "model_uuid": "flowtest"},
        "from_finalize": true,
    })
    .to_string()
}

/// What Deepgram sends after `CloseStream`, before it closes the socket.
pub fn metadata(duration: f64) -> String {
    json!({
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": "flowtest",
        "sha256": "incomplete",
        "created": "1970-01-01T00:00:00.000Z",
        "duration": duration,
        "channels": 1,
    })
    .to_string()
}
