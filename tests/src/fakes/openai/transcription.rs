//! `POST /v1/audio/transcriptions`: a multipart/form-data upload of a WAV file, answered with a
//! scripted transcript.

use std::sync::Arc;

use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Request, State};
use axum::response::Response;

use super::OpenAi;
use super::errors::{self, error_json};
use crate::audio::read_wav_bytes;
use crate::fakes::answer::{Answer, answer_builders};
use crate::fakes::server::lock;
use crate::fakes::wire::{Reply, insert_header};

/// How one transcription request is answered. A scripted failure ([`TranscriptionScript::status`],
/// [`TranscriptionScript::error`]) is sent after the upload was parsed and recorded.
#[derive(Clone, Debug)]
pub struct TranscriptionScript {
    pub(super) answer: Answer,
    pub(super) text: String,
    pub(super) language: String,
    pub(super) hang: bool,
}

impl Default for TranscriptionScript {
    fn default() -> Self {
        TranscriptionScript::text("Hello world.")
    }
}

impl TranscriptionScript {
    /// Answer with this transcript (in the shape the request's `response_format` asks for).
    pub fn text(text: impl Into<String>) -> Self {
        TranscriptionScript { answer: Answer::default(), text: text.into(), language: "english".into(), hang: false }
    }

    /// The `language` of a `verbose_json` answer (Whisper reports names: "english").
    pub fn language(mut self, language: &str) -> Self {
        self.language = language.into();
        self
    }

    /// Read the upload, then never answer.
    pub fn hang(mut self) -> Self {
        self.hang = true;
        self
    }
}

answer_builders!(TranscriptionScript {
    base: TranscriptionScript::default(),
    error_body: errors::error_body,
    provider: "OpenAI",
});

/// One parsed transcription upload.
#[derive(Clone, Debug)]
pub struct TranscriptionRecord {
    pub model: String,
    /// As requested; `json` when absent.
    pub response_format: String,
    /// Every non-file form field in order (`timestamp_granularities[]` appears once per value).
    pub fields: Vec<(String, String)>,
    pub file_name: Option<String>,
    pub file_content_type: Option<String>,
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<i16>,
}

impl TranscriptionRecord {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    pub fn duration_ms(&self) -> f64 {
        crate::audio::ms_for_samples(self.sample_rate, self.samples.len())
    }
}

fn bad_request(body: String) -> Reply {
    Reply::json(400, body)
}

fn unsupported(message: &str, param: &str) -> Reply {
    bad_request(error_json(message, "invalid_request_error", Some(param), Some("unsupported_value")))
}

async fn parse(request: Request) -> Result<TranscriptionRecord, Reply> {
    let cannot_parse =
        || bad_request(error_json("Could not parse multipart form", "invalid_request_error", None, None));
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|_| cannot_parse())?;
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| cannot_parse())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let data = field.bytes().await.map_err(|_| cannot_parse())?;
            file = Some((file_name, content_type, data));
        } else {
            let value = field.text().await.map_err(|_| cannot_parse())?;
            fields.push((name, value));
        }
    }
    let field =
        |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value): &(String, String)| value.clone());
    let Some((file_name, file_content_type, data)) = file else {
        return Err(bad_request(errors::missing_parameter("file")));
    };
    let Some(model) = field("model").filter(|model| !model.is_empty()) else {
        return Err(bad_request(error_json("you must provide a model parameter", "invalid_request_error", None, None)));
    };
    let wav = read_wav_bytes(&data).map_err(|_| {
        bad_request(error_json(
            "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', \
             'mpga', 'oga', 'ogg', 'wav', 'webm']",
            "invalid_request_error",
            None,
            None,
        ))
    })?;
    if wav.channels != 1 {
        return Err(unsupported(
            &format!("voiceblox fake: expected a mono 16-bit PCM WAV, got {} channels.", wav.channels),
            "file",
        ));
    }
    if crate::audio::ms_for_samples(wav.sample_rate, wav.samples.len()) < 100.0 {
        return Err(bad_request(error_json(
            "Audio file is too short. Minimum audio length is 0.1 seconds.",
            "invalid_request_error",
            Some("file"),
            Some("audio_too_short"),
        )));
    }
    let response_format = field("response_format").unwrap_or_else(|| "json".into());
    match response_format.as_str() {
        "json" | "text" => {}
        "verbose_json" if model.starts_with("gpt-4o") => {
            return Err(unsupported(
                &format!(
                    "response_format 'verbose_json' is not compatible with model '{model}'. Use \
                     'json' or 'text' instead."
                ),
                "response_format",
            ));
        }
        "verbose_json" => {}
        other => {
            return Err(unsupported(
                &format!("voiceblox fake: response_format '{other}' is not implemented."),
                "response_format",
            ));
        }
    }
    Ok(TranscriptionRecord {
        model,
        response_format,
        fields,
        file_name,
        file_content_type,
        sample_rate: wav.sample_rate,
        channels: wav.channels,
        samples: wav.samples,
    })
}

pub(super) async fn handle(State(api): State<Arc<OpenAi>>, request: Request) -> Response {
    let request_number = api.next_request();
    let common = api.common_headers(request_number);
    if let Some(response) = api.unauthorized(request.headers(), request_number) {
        return response;
    }
    let record = match parse(request).await {
        Ok(record) => record,
        Err(reply) => return reply.into_response(&common),
    };
    lock(&api.transcriptions).push(record.clone());
    let script = api.transcription.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if script.hang {
        api.shutdown.clone().signalled().await;
        return Reply::json(503, errors::error_body(503)).into_response(&common);
    }
    if let Some(response) = script.answer.failure(&common) {
        return response;
    }
    let (body, content_type) = super::transcript_json::body_for(&record, &script);
    let mut response = Reply::json(200, body).into_response(&common);
    insert_header(&mut response, "content-type", content_type);
    response
}
