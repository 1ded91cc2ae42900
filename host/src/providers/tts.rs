//! Speech synthesis through the TTS plugin: one stream per agent utterance, sentences in,
//! PCM out.

use crate::audio::AudioFrame;
use crate::plugin::types::{Event, Kind, TtsEvent};
use crate::plugin::{
    OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamInput, StreamOutput, tts,
};

/// The configured voice.
#[derive(Clone)]
pub struct Speaker {
    runtime: PluginRuntime,
    settings: ProviderSettings,
    voice: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TtsChunk {
    /// Mono PCM at the rate the provider produced.
    Audio(AudioFrame),
    /// Everything before the last flush was synthesised.
    Flushed,
}

/// One utterance being synthesised; dropping it cancels the provider request.
pub struct Synthesis {
    stream: StreamHandle,
}

impl Speaker {
    pub fn new(runtime: PluginRuntime, settings: ProviderSettings, voice: Option<String>) -> Self {
        Self { runtime, settings, voice }
    }

    /// The rate the provider produces by default (its first declared rate).
    pub fn sample_rate(&self) -> Option<u32> {
        let plugin = self.runtime.plugin_for(&self.settings.provider, Kind::Tts).ok()?;
        plugin.provider(&self.settings.provider)?.tts_sample_rates.first().copied()
    }

    pub async fn open(&self) -> Result<Synthesis, StreamError> {
        let request = tts::Request {
            voice: self.voice.clone(),
            sample_rate: None,
            options: serde_json::Value::Object(self.settings.options.clone()).to_string(),
        };
        let stream = self.runtime.open(&self.settings, OpenRequest::Tts(request)).await?;
        Ok(Synthesis { stream })
    }
}

impl Synthesis {
    /// Queues a sentence and asks for it to be spoken now.
    pub async fn say(&self, text: String) -> Result<(), StreamError> {
        for input in [StreamInput::Text(text), StreamInput::Flush] {
            self.send(input).await?;
        }
        Ok(())
    }

    /// No more text in this utterance.
    pub async fn end(&self) -> Result<(), StreamError> {
        self.send(StreamInput::End).await
    }

    async fn send(&self, input: StreamInput) -> Result<(), StreamError> {
        // A refused send means the stream ended; `next` reports how.
        self.stream.send(input).await.map_err(|_| StreamError::Io("the TTS stream has ended".into()))
    }

    /// The next chunk; `None` once the utterance is complete.
    pub async fn next(&mut self) -> Option<Result<TtsChunk, StreamError>> {
        loop {
            return match self.stream.next().await? {
                StreamOutput::Event(Event::Tts(TtsEvent::Audio(audio))) => {
                    match AudioFrame::from_le_bytes(&audio.pcm, audio.sample_rate, 1) {
                        Ok(frame) => Some(Ok(TtsChunk::Audio(frame))),
                        Err(error) => Some(Err(StreamError::Io(format!("TTS audio: {error}")))),
                    }
                }
                StreamOutput::Event(Event::Tts(TtsEvent::Flushed)) => Some(Ok(TtsChunk::Flushed)),
                StreamOutput::Event(other) => {
                    tracing::debug!(?other, "non-TTS event from a TTS stream ignored");
                    continue;
                }
                StreamOutput::Finished => None,
                StreamOutput::Failed(error) => Some(Err(error)),
            };
        }
    }
}
