//! The bodies a transcription is answered with, per `response_format`.

use super::transcription::{TranscriptionRecord, TranscriptionScript};
use crate::fakes::wire::{Obj, array};

/// Words as Whisper lists them: no surrounding punctuation, spread evenly over the audio.
fn words_json(text: &str, duration: f64) -> String {
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|word| word.trim_matches(|c: char| c.is_ascii_punctuation() && c != '\''))
        .filter(|word| !word.is_empty())
        .collect();
    let step = duration / words.len().max(1) as f64;
    array(words.iter().enumerate().map(|(i, word)| {
        Obj::new().str("word", word).float("start", step * i as f64).float("end", step * (i + 1) as f64).finish()
    }))
}

pub(super) fn body_for(record: &TranscriptionRecord, script: &TranscriptionScript) -> (String, &'static str) {
    let duration = record.duration_ms() / 1000.0;
    let seconds = duration.ceil() as i64;
    let duration_usage = Obj::new().str("type", "duration").int("seconds", seconds);
    match record.response_format.as_str() {
        "text" => (format!("{}\n", script.text), "text/plain; charset=utf-8"),
        "verbose_json" => {
            let granularities: Vec<&str> = record
                .fields
                .iter()
                .filter(|(key, _)| key == "timestamp_granularities[]")
                .map(|(_, value)| value.as_str())
                .collect();
            let mut body = Obj::new()
                .str("task", "transcribe")
                .str("language", &script.language)
                .float("duration", duration)
                .str("text", &script.text);
            if granularities.contains(&"word") {
                body = body.raw("words", words_json(&script.text, duration));
            }
            if granularities.is_empty() || granularities.contains(&"segment") {
                let tokens =
                    (0..script.text.split_whitespace().count() as i64 + 2).map(|i| (50364 + i * 97).to_string());
                let segment = Obj::new()
                    .int("id", 0)
                    .int("seek", 0)
                    .float("start", 0.0)
                    .float("end", duration)
                    .str("text", &format!(" {}", script.text))
                    .raw("tokens", array(tokens))
                    .float("temperature", 0.0)
                    .float("avg_logprob", -0.25)
                    .float("compression_ratio", 1.2)
                    .float("no_speech_prob", 0.01);
                body = body.raw("segments", array([segment.finish()]));
            }
            (body.obj("usage", duration_usage).finish(), "application/json")
        }
        _ if record.model.starts_with("gpt-4o") => {
            let audio_tokens = (duration * 10.0).ceil() as i64;
            let output_tokens = script.text.split_whitespace().count() as i64 + 1;
            let usage = Obj::new()
                .str("type", "tokens")
                .int("input_tokens", audio_tokens)
                .obj("input_token_details", Obj::new().int("text_tokens", 0).int("audio_tokens", audio_tokens))
                .int("output_tokens", output_tokens)
                .int("total_tokens", audio_tokens + output_tokens);
            let body = Obj::new().str("text", &script.text).obj("usage", usage);
            (body.finish(), "application/json")
        }
        _ => {
            let body = Obj::new().str("text", &script.text).obj("usage", duration_usage);
            (body.finish(), "application/json")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::wire::json_float;

    #[test]
    fn words_drop_punctuation_and_span_the_audio() -> anyhow::Result<()> {
        let words: serde_json::Value = serde_json::from_str(&words_json("Hello, it's me.", 1.5))?;
        let texts: Vec<&str> =
            words.as_array().into_iter().flatten().filter_map(|word| word["word"].as_str()).collect();
        assert_eq!(texts, ["Hello", "it's", "me"]);
        assert_eq!(words[2]["end"], 1.5);
        assert_eq!(json_float(0.5), "0.5");
        Ok(())
    }
}
