//! The JSON Deepgram's `/v1/listen` socket sends, field for field and in its key order (taken
//! from wire captures of live sessions and the published AsyncAPI schema).

use crate::fakes::wire::{Obj, array, json_string};

/// The model identity a session reports in every message.
#[derive(Clone, Debug)]
pub(crate) struct ModelInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) arch: String,
    pub(crate) uuid: String,
}

impl ModelInfo {
    pub(crate) fn for_model(model: &str) -> Self {
        ModelInfo {
            name: format!("general-{model}"),
            version: "2025-04-17.21547".into(),
            arch: model.to_owned(),
            uuid: "40bd3654-e622-47c4-a111-63a61b23bfe8".into(),
        }
    }

    fn json(&self) -> Obj {
        Obj::new().str("name", &self.name).str("version", &self.version).str("arch", &self.arch)
    }
}

/// One recognised word.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Word {
    /// Lowercase, no punctuation: what Deepgram puts in `word`.
    pub(crate) word: String,
    /// As scripted, with case and punctuation: `punctuated_word`.
    pub(crate) punctuated: String,
    pub(crate) start_ms: f64,
    pub(crate) end_ms: f64,
    pub(crate) confidence: f64,
}

/// The formatting options of the session that change how words are written.
#[derive(Clone, Debug, Default)]
pub(crate) struct Formatting {
    /// `punctuate=true` or `smart_format=true`: `punctuated_word` is present and the
    /// transcript is written with it.
    pub(crate) punctuate: bool,
    /// `diarize=true`: every word carries `speaker`.
    pub(crate) diarize: bool,
    /// `language=multi` (or `detect_language=true`): the language tagged on every word and
    /// listed in the alternative's `languages`.
    pub(crate) language: Option<String>,
}

pub(crate) struct ResultsMessage<'a> {
    pub(crate) start_ms: f64,
    pub(crate) duration_ms: f64,
    pub(crate) is_final: bool,
    pub(crate) speech_final: bool,
    pub(crate) from_finalize: bool,
    pub(crate) words: &'a [Word],
}

pub(crate) fn seconds(ms: f64) -> f64 {
    // Deepgram reports times rounded to float32-ish precision; millisecond-exact values read
    // the same and keep the fake deterministic.
    (ms * 1000.0).round() / 1_000_000.0
}

pub(crate) fn results(
    message: &ResultsMessage<'_>,
    formatting: &Formatting,
    request_id: &str,
    model: &ModelInfo,
) -> String {
    let transcript = message
        .words
        .iter()
        .map(|word| if formatting.punctuate { word.punctuated.as_str() } else { word.word.as_str() })
        .collect::<Vec<_>>()
        .join(" ");
    let confidence = message
        .words
        .iter()
        .map(|word| word.confidence)
        .fold(None, |lowest: Option<f64>, c| Some(lowest.map_or(c, |l| l.min(c))))
        .unwrap_or(0.0);
    let words = message.words.iter().map(|word| {
        let mut json = Obj::new()
            .str("word", &word.word)
            .float("start", seconds(word.start_ms))
            .float("end", seconds(word.end_ms))
            .float("confidence", word.confidence);
        if let Some(language) = &formatting.language {
            json = json.str("language", language);
        }
        if formatting.diarize {
            json = json.int("speaker", 0).float("speaker_confidence", 0.95);
        }
        if formatting.punctuate {
            json = json.str("punctuated_word", &word.punctuated);
        }
        json.finish()
    });
    let mut alternative =
        Obj::new().str("transcript", &transcript).float("confidence", confidence).raw("words", array(words));
    if let Some(language) = &formatting.language {
        alternative = alternative.raw("languages", array([json_string(language)]));
    }
    let alternative = alternative.finish();
    Obj::new()
        .str("type", "Results")
        .raw("channel_index", "[0,1]")
        .float("duration", seconds(message.duration_ms))
        .float("start", seconds(message.start_ms))
        .bool("is_final", message.is_final)
        .bool("speech_final", message.speech_final)
        .obj("channel", Obj::new().raw("alternatives", array([alternative])))
        .obj(
            "metadata",
            Obj::new().str("request_id", request_id).obj("model_info", model.json()).str("model_uuid", &model.uuid),
        )
        .bool("from_finalize", message.from_finalize)
        .finish()
}

pub(crate) fn speech_started(timestamp_ms: f64) -> String {
    Obj::new().str("type", "SpeechStarted").raw("channel", "[0,1]").float("timestamp", seconds(timestamp_ms)).finish()
}

pub(crate) fn utterance_end(last_word_end_ms: f64) -> String {
    Obj::new()
        .str("type", "UtteranceEnd")
        .raw("channel", "[0,1]")
        .float("last_word_end", seconds(last_word_end_ms))
        .finish()
}

pub(crate) struct MetadataMessage<'a> {
    pub(crate) request_id: &'a str,
    /// Hex SHA-256 of the audio, or `"incomplete"` when the session did not end cleanly.
    pub(crate) sha256: &'a str,
    pub(crate) created: &'a str,
    pub(crate) duration_ms: f64,
    pub(crate) channels: u32,
    /// Listed only when audio was processed, as Deepgram does.
    pub(crate) model: Option<&'a ModelInfo>,
}

pub(crate) fn metadata(message: &MetadataMessage<'_>) -> String {
    let mut json = Obj::new()
        .str("type", "Metadata")
        .str("transaction_key", "deprecated")
        .str("request_id", message.request_id)
        .str("sha256", message.sha256)
        .str("created", message.created)
        .float("duration", seconds(message.duration_ms))
        .int("channels", message.channels);
    if let Some(model) = message.model {
        json = json
            .raw("models", array([json_string(&model.uuid)]))
            .obj("model_info", Obj::new().obj(&model.uuid, model.json()));
    }
    json.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::wire::json_float;

    #[test]
    fn results_follow_the_captured_shape() -> anyhow::Result<()> {
        let words = [Word {
            word: "hello".into(),
            punctuated: "Hello.".into(),
            start_ms: 300.0,
            end_ms: 550.0,
            confidence: 0.98,
        }];
        let message = ResultsMessage {
            start_ms: 0.0,
            duration_ms: 600.0,
            is_final: true,
            speech_final: true,
            from_finalize: false,
            words: &words,
        };
        let model = ModelInfo::for_model("nova-3");
        let formatting = Formatting { punctuate: true, ..Formatting::default() };
        let text = results(&message, &formatting, "req", &model);
        assert!(text.starts_with(
            r#"{"type":"Results","channel_index":[0,1],"duration":0.6,"start":0.0,"is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"Hello.","confidence":0.98,"words":[{"word":"hello","start":0.3,"end":0.55,"confidence":0.98,"punctuated_word":"Hello."}]}]},"metadata":{"request_id":"req","model_info":{"name":"general-nova-3""#
        ));
        assert!(text.ends_with(r#""from_finalize":false}"#));
        let plain = results(&message, &Formatting::default(), "req", &model);
        let json: serde_json::Value = serde_json::from_str(&plain)?;
        assert_eq!(json["channel"]["alternatives"][0]["transcript"], "hello");
        assert!(json["channel"]["alternatives"][0]["words"][0].get("punctuated_word").is_none());
        Ok(())
    }

    #[test]
    fn metadata_lists_models_only_after_audio() {
        let mut message = MetadataMessage {
            request_id: "r",
            sha256: "incomplete",
            created: "2026-01-01T00:00:00.000Z",
            duration_ms: 0.0,
            channels: 1,
            model: None,
        };
        assert_eq!(
            metadata(&message),
            r#"{"type":"Metadata","transaction_key":"deprecated","request_id":"r","sha256":"incomplete","created":"2026-01-01T00:00:00.000Z","duration":0.0,"channels":1}"#
        );
        let model = ModelInfo::for_model("nova-3");
        message.model = Some(&model);
        assert!(
            metadata(&message).contains(r#""models":["40bd3654-e622-47c4-a111-63a61b23bfe8"],"model_info":{"40bd3654"#)
        );
        assert_eq!(json_float(seconds(1079.9375)), "1.079938");
    }
}
