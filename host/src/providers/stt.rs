//! Transcription through the STT plugin: one stream per session (streaming providers) that
//! audio frames go into and transcripts come out of.

use crate::plugin::types::{Event, Kind, SttEvent, SttMode, Transcript};
use crate::plugin::{
    OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamInput, StreamOutput, stt,
};

/// Provider endpointing asked of streaming STT: short, since the host decides the turn end.
const PROVIDER_ENDPOINTING_MS: u32 = 300;

#[derive(Clone)]
pub struct Transcriber {
    runtime: PluginRuntime,
    settings: ProviderSettings,
    keyterms: Vec<String>,
    diarization: bool,
    detect_language: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SttChunk {
    Interim(Transcript),
    Final(Transcript),
    SpeechStarted,
    SpeechEnded,
}

/// A running transcription; dropping it closes the provider connection.
pub struct Transcription {
    stream: StreamHandle,
    /// Kept, so the audio path does not clone a sender per frame.
    input: tokio::sync::mpsc::Sender<StreamInput>,
}

impl Transcriber {
    pub fn new(
        runtime: PluginRuntime,
        settings: ProviderSettings,
        keyterms: Vec<String>,
        diarization: bool,
        detect_language: bool,
    ) -> Self {
        Self { runtime, settings, keyterms, diarization, detect_language }
    }

    /// The provider's input rate (16 kHz unless it declared another).
    pub fn sample_rate(&self) -> u32 {
        self.info().and_then(|(_, rate)| rate).unwrap_or(16_000)
    }

    /// Streaming providers get every frame; batch ones one utterance per flush.
    pub fn is_streaming(&self) -> bool {
        !matches!(self.info().and_then(|(mode, _)| mode), Some(SttMode::Batch))
    }

    fn info(&self) -> Option<(Option<SttMode>, Option<u32>)> {
        let plugin = self.runtime.plugin_for(&self.settings.provider, Kind::Stt).ok()?;
        let info = plugin.provider(&self.settings.provider)?;
        Some((info.stt_mode, info.stt_sample_rate))
    }

    pub async fn open(&self) -> Result<Transcription, StreamError> {
        let request = stt::Request {
            sample_rate: self.sample_rate(),
            interim_results: true,
            detect_language: self.detect_language,
            diarization: self.diarization,
            keyterms: self.keyterms.clone(),
            endpointing_ms: Some(PROVIDER_ENDPOINTING_MS),
            options: serde_json::Value::Object(self.settings.options.clone()).to_string(),
        };
        let stream = self.runtime.open(&self.settings, OpenRequest::Stt(request)).await?;
        let input = stream.sender();
        Ok(Transcription { stream, input })
    }
}

impl Transcription {
    /// Sends audio without waiting: false when the queue is full and the frame was not taken
    /// (the voice driver counts those) rather than stall the audio loop.
    pub fn push(&self, samples: Vec<i16>) -> bool {
        self.input.try_send(StreamInput::Audio(samples)).is_ok()
    }

    /// Finalise the current utterance (without waiting; false if the queue is full).
    pub fn flush_now(&self) -> bool {
        self.input.try_send(StreamInput::Flush).is_ok()
    }

    pub async fn next(&mut self) -> Option<Result<SttChunk, StreamError>> {
        loop {
            return match self.stream.next().await? {
                StreamOutput::Event(Event::Stt(event)) => Some(Ok(match event {
                    SttEvent::Interim(t) => SttChunk::Interim(t),
                    SttEvent::Final(t) => SttChunk::Final(t),
                    SttEvent::SpeechStarted(_) => SttChunk::SpeechStarted,
                    SttEvent::SpeechEnded(_) => SttChunk::SpeechEnded,
                })),
                StreamOutput::Event(other) => {
                    tracing::debug!(?other, "non-STT event from an STT stream ignored");
                    continue;
                }
                StreamOutput::Finished => None,
                StreamOutput::Failed(error) => Some(Err(error)),
            };
        }
    }
}
