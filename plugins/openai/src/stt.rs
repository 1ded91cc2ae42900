//! Batch speech-to-text: audio frames are buffered per utterance and sent, on `flush` or `end`,
//! as one WAV upload to `POST /audio/transcriptions`; each answer becomes one final transcript.
//!
//! Uploads run one at a time in order, so finals arrive in the order the audio was spoken and
//! carry their offsets in the stream.

use voiceblox_plugin_kit::json::OptionsExt;
use voiceblox_plugin_kit::requests::{self, Jobs, Outputs, SerialRequests};
use voiceblox_plugin_kit::wav::wav_s16le_mono;

use crate::PROVIDER;
use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{invalid, protocol};
use crate::multipart::Form;
use crate::stt_response::{self, Span};
use voiceblox_plugin_contract::types::{Action, Event, HttpRequest, Input, ProviderConfig, ProviderError, SttEvent};
use voiceblox_plugin_sdk::stt::Request;

/// The rate the host resamples microphone audio to for this provider.
pub const SAMPLE_RATE: u32 = 16_000;

pub const DEFAULT_MODEL: &str = "gpt-4o-mini-transcribe";

/// The API refuses files over 25 MB; a longer utterance is sent in parts rather than lost.
const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;
const MAX_SAMPLES: usize = (MAX_UPLOAD_BYTES - 64 * 1024) / 2;

/// A transcription answer is a few kilobytes, even with word timestamps.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// One buffered utterance and where it sits in the stream.
#[derive(Debug)]
struct Utterance {
    samples: Vec<i16>,
    start_ms: u32,
    end_ms: u32,
}

/// What every upload of the stream sends besides the audio.
#[derive(Debug)]
struct Settings {
    model: String,
    /// ISO-639-1, as the API wants it.
    language: Option<String>,
    /// The configured tag, reported on transcripts.
    configured_language: Option<String>,
    prompt: Option<String>,
    /// whisper models give word timestamps through `verbose_json`; the gpt-4o models only
    /// answer `json` but can add token log-probabilities.
    word_timestamps: bool,
    logprobs: bool,
}

/// One transcription stream: audio is buffered into utterances, uploaded one at a time.
#[derive(Debug)]
pub struct Transcriber {
    uploads: SerialRequests<Uploads>,
    samples: Vec<i16>,
    /// Samples already handed to uploads: the stream offset of `samples[0]`.
    consumed: u64,
    ended: bool,
}

impl Transcriber {
    /// Validates the request; nothing is sent before audio is flushed.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        if request.sample_rate == 0 {
            return Err(invalid("sample-rate must be positive"));
        }
        let options = merged_options(config, &request.options)?;
        let endpoint = Endpoint::new(config, &options)?;
        let model = model_name(config, DEFAULT_MODEL);
        let configured_language = config.language.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let language = configured_language
            .filter(|_| !request.detect_language)
            .and_then(|tag| tag.split(['-', '_']).next())
            .map(str::to_ascii_lowercase);
        let prompt = match options.opt_str("prompt").map_err(invalid)? {
            Some(prompt) => Some(prompt.to_string()),
            // Spelling the key terms in the prompt is how these models are biased towards them.
            None if !request.keyterms.is_empty() => Some(request.keyterms.join(", ")),
            None => None,
        };
        let word_timestamps = model.contains("whisper");
        let logprobs = model.starts_with("gpt-4o") && model.contains("transcribe") && !model.contains("diarize");
        let uploads = Uploads {
            endpoint,
            settings: Settings {
                model,
                language,
                configured_language: configured_language.map(str::to_string),
                prompt,
                word_timestamps,
                logprobs,
            },
            sample_rate: request.sample_rate,
            payload: Vec::new(),
        };
        Ok(Transcriber {
            uploads: SerialRequests::new(PROVIDER, "transcription", uploads),
            samples: Vec::new(),
            consumed: 0,
            ended: false,
        })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        if self.uploads.is_done() {
            return Vec::new();
        }
        let out = match requests::Input::from(input) {
            requests::Input::Audio(frame) if !self.ended => {
                self.samples.extend_from_slice(&frame);
                if self.samples.len() >= MAX_SAMPLES { self.submit() } else { Vec::new() }
            }
            requests::Input::Flush => self.submit(),
            requests::Input::End => {
                let mut out = self.submit();
                self.ended = true;
                out.extend(self.uploads.end());
                out
            }
            other => self.uploads.response(other),
        };
        out.into_iter().map(Action::from).collect()
    }

    fn submit(&mut self) -> Outputs<Uploads> {
        if self.samples.is_empty() {
            return Vec::new();
        }
        let samples = std::mem::take(&mut self.samples);
        let start = self.consumed;
        self.consumed += samples.len() as u64;
        let utterance = Utterance { start_ms: self.offset_ms(start), end_ms: self.offset_ms(self.consumed), samples };
        self.uploads.submit([Some(utterance)])
    }

    fn offset_ms(&self, samples: u64) -> u32 {
        u32::try_from(samples * 1000 / u64::from(self.uploads.jobs().sample_rate)).unwrap_or(u32::MAX)
    }
}

/// The uploads of one stream, one utterance each, and their answers.
#[derive(Debug)]
struct Uploads {
    endpoint: Endpoint,
    settings: Settings,
    sample_rate: u32,
    /// The answer being received.
    payload: Vec<u8>,
}

impl Jobs for Uploads {
    type Job = Utterance;
    type Request = HttpRequest;
    type Event = Event;
    type Error = ProviderError;

    fn request(&mut self, utterance: &mut Utterance) -> HttpRequest {
        // The upload owns the audio from here; the queue keeps only the span.
        let samples = std::mem::take(&mut utterance.samples);
        let settings = &self.settings;
        let mut form = Form::new();
        form.file("file", "audio.wav", "audio/wav", wav_s16le_mono(&samples, self.sample_rate));
        form.text("model", &settings.model);
        if let Some(language) = &settings.language {
            form.text("language", language);
        }
        if let Some(prompt) = &settings.prompt {
            form.text("prompt", prompt);
        }
        if settings.word_timestamps {
            form.text("response_format", "verbose_json");
            form.text("timestamp_granularities[]", "word");
        } else {
            form.text("response_format", "json");
        }
        if settings.logprobs {
            form.text("include[]", "logprobs");
        }
        let (content_type, body) = form.finish();
        HttpRequest {
            method: "POST".into(),
            url: self.endpoint.url("audio/transcriptions"),
            headers: self.endpoint.headers(&content_type),
            body,
        }
    }

    fn head(&mut self) {
        self.payload.clear();
    }

    fn body(&mut self, bytes: &[u8]) -> Result<Option<Event>, ProviderError> {
        if self.payload.len() + bytes.len() > MAX_RESPONSE_BYTES {
            return Err(protocol(format!("transcription larger than {MAX_RESPONSE_BYTES} bytes")));
        }
        self.payload.extend_from_slice(bytes);
        Ok(None)
    }

    fn end(&mut self, utterance: &Utterance) -> Result<Option<Event>, ProviderError> {
        let span = Span {
            start_ms: utterance.start_ms,
            end_ms: utterance.end_ms,
            requested_language: self.settings.configured_language.as_deref(),
        };
        let transcript = stt_response::parse(&std::mem::take(&mut self.payload), span)?;
        Ok(Some(Event::Stt(SttEvent::Final(transcript))))
    }
}

#[cfg(test)]
mod tests;
