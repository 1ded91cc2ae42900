//! Speech synthesis through the TTS plugin: one stream per agent utterance, sentences in,
//! PCM out.
//!
//! A [`Speaker`] may be a chain: the configured voice, then its `fallbacks` in order. An
//! utterance goes to the first provider not cooling down; when that provider fails before its
//! first audio (a connection error, a timeout, 429, 5xx: [`switches_provider`]) the next one is
//! opened and given every sentence the utterance has had so far, the failed one cools down,
//! and the switch is reported ([`super::chain`]). Once audio has been heard, a failure ends the
//! utterance as any failure does (another voice would finish the sentence in a different
//! voice); the next utterance starts on the next provider, since the failed one is cooling.

use std::sync::Arc;
use std::time::Duration;

use super::chain::{ChainState, switches_provider};
use crate::audio::AudioFrame;
use crate::events::EventSink;
use crate::plugin::types::{Event, Kind, TtsEvent};
use crate::plugin::{
    OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamInput, StreamOutput, tts,
};

/// One voice of a chain.
#[derive(Clone)]
struct Voice {
    settings: ProviderSettings,
    voice: Option<String>,
}

impl Voice {
    /// `provider/model`, as events name it.
    fn label(&self) -> String {
        format!("{}/{}", self.settings.provider, self.settings.model)
    }
}

/// The configured voice, with its fallbacks.
#[derive(Clone)]
pub struct Speaker {
    runtime: PluginRuntime,
    voices: Arc<[Voice]>,
    chain: ChainState,
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
    speaker: Speaker,
    /// The provider speaking it (an index into the chain).
    index: usize,
    stream: StreamHandle,
    /// Providers this utterance has been on.
    tried: Vec<usize>,
    /// Until the first audio: every input so far, for the next provider if this one fails.
    pending: Option<Vec<StreamInput>>,
}

impl Speaker {
    pub fn new(runtime: PluginRuntime, settings: ProviderSettings, voice: Option<String>) -> Self {
        let voice = Voice { settings, voice };
        let chain = ChainState::new("tts", vec![voice.label()]);
        Self { runtime, voices: Arc::new([voice]), chain }
    }

    /// With `fallbacks` (settings and voice id each) after this voice.
    pub fn with_fallbacks(self, fallbacks: impl IntoIterator<Item = (ProviderSettings, Option<String>)>) -> Self {
        let spares = fallbacks.into_iter().map(|(settings, voice)| Voice { settings, voice });
        let voices: Vec<Voice> = self.voices.iter().cloned().chain(spares).collect();
        let chain = ChainState::new("tts", voices.iter().map(Voice::label).collect());
        Self { voices: voices.into(), chain, ..self }
    }

    /// Reporting provider switches to `sink`.
    pub fn reporting_to(self, sink: Arc<dyn EventSink>) -> Self {
        Self { chain: self.chain.reporting_to(sink), ..self }
    }

    /// Passing a failed provider over for `cool_down` instead of [`super::chain::COOL_DOWN`]
    /// (after [`Self::with_fallbacks`], which starts a new chain).
    pub fn with_cool_down(self, cool_down: Duration) -> Self {
        Self { chain: self.chain.with_cool_down(cool_down), ..self }
    }

    /// The rate the configured provider produces by default (its first declared rate).
    pub fn sample_rate(&self) -> Option<u32> {
        let provider = &self.voices[0].settings.provider;
        let plugin = self.runtime.plugin_for(provider, Kind::Tts).ok()?;
        plugin.provider(provider)?.tts_sample_rates.first().copied()
    }

    /// Opens an utterance on the first provider that takes it (see the module docs).
    pub async fn open(&self) -> Result<Synthesis, StreamError> {
        let (index, stream, tried) = self.open_next(Vec::new(), None).await?;
        Ok(Synthesis { speaker: self.clone(), index, stream, tried, pending: Some(Vec::new()) })
    }

    /// Opens the first provider in the chain's order not in `tried`, passing over those that
    /// cannot serve now; `failed` is the provider (and why) the utterance leaves, if any.
    async fn open_next(
        &self,
        mut tried: Vec<usize>,
        mut failed: Option<(usize, StreamError)>,
    ) -> Result<(usize, StreamHandle, Vec<usize>), StreamError> {
        let order: Vec<usize> = self.chain.order().into_iter().filter(|i| !tried.contains(i)).collect();
        for (position, &index) in order.iter().enumerate() {
            if let Some((from, error)) = failed.take() {
                self.chain.switch(from, index, &error);
            }
            tried.push(index);
            let voice = &self.voices[index];
            let request = tts::Request {
                voice: voice.voice.clone(),
                sample_rate: None,
                options: serde_json::Value::Object(voice.settings.options.clone()).to_string(),
            };
            match self.runtime.open(&voice.settings, OpenRequest::Tts(request)).await {
                Ok(stream) => return Ok((index, stream, tried)),
                Err(error) if switches_provider(&error) && position + 1 < order.len() => {
                    self.chain.served(index, true);
                    failed = Some((index, error));
                }
                Err(error) => {
                    if switches_provider(&error) {
                        self.chain.served(index, true);
                    }
                    return Err(error);
                }
            }
        }
        Err(failed.map(|(_, e)| e).unwrap_or_else(|| StreamError::Io("no TTS provider left to try".into())))
    }
}

impl Synthesis {
    /// Queues a sentence and asks for it to be spoken now.
    pub async fn say(&mut self, text: String) -> Result<(), StreamError> {
        for input in [StreamInput::Text(text), StreamInput::Flush] {
            self.send(input).await?;
        }
        Ok(())
    }

    /// No more text in this utterance.
    pub async fn end(&mut self) -> Result<(), StreamError> {
        self.send(StreamInput::End).await
    }

    async fn send(&mut self, input: StreamInput) -> Result<(), StreamError> {
        if let Some(pending) = &mut self.pending {
            pending.push(input.clone());
        }
        // A refused send means the stream ended; `next` reports how (or moves on).
        self.stream.send(input).await.map_err(|_| StreamError::Io("the TTS stream has ended".into()))
    }

    /// The next chunk; `None` once the utterance is complete.
    pub async fn next(&mut self) -> Option<Result<TtsChunk, StreamError>> {
        loop {
            return match self.stream.next().await? {
                StreamOutput::Event(Event::Tts(TtsEvent::Audio(audio))) => {
                    if self.pending.take().is_some() {
                        self.speaker.chain.served(self.index, false);
                    }
                    match AudioFrame::from_le_bytes(&audio.pcm, audio.sample_rate, 1) {
                        Ok(frame) => Some(Ok(TtsChunk::Audio(frame))),
                        Err(error) => Some(Err(StreamError::Io(format!("TTS audio: {error}")))),
                    }
                }
                StreamOutput::Event(Event::Tts(TtsEvent::Flushed)) => {
                    // A sentence done without audio (all punctuation, say) is not said again.
                    if let Some(pending) = &mut self.pending
                        && let Some(flush) = pending.iter().position(|i| matches!(i, StreamInput::Flush))
                    {
                        pending.drain(..=flush);
                    }
                    Some(Ok(TtsChunk::Flushed))
                }
                StreamOutput::Event(other) => {
                    tracing::debug!(?other, "non-TTS event from a TTS stream ignored");
                    continue;
                }
                StreamOutput::Finished => None,
                StreamOutput::Failed(error) => {
                    if self.pending.is_some() && switches_provider(&error) {
                        match self.move_on(error).await {
                            Ok(()) => continue,
                            Err(error) => Some(Err(error)),
                        }
                    } else {
                        if switches_provider(&error) {
                            self.speaker.chain.served(self.index, true);
                        }
                        Some(Err(error))
                    }
                }
            };
        }
    }

    /// The provider failed before any audio: the next one takes the utterance from the start.
    async fn move_on(&mut self, error: StreamError) -> Result<(), StreamError> {
        self.speaker.chain.served(self.index, true);
        if self.tried.len() >= self.speaker.voices.len() {
            return Err(error);
        }
        let tried = std::mem::take(&mut self.tried);
        let (index, stream, tried) = self.speaker.open_next(tried, Some((self.index, error))).await?;
        (self.index, self.stream, self.tried) = (index, stream, tried);
        for input in self.pending.clone().unwrap_or_default() {
            // A refusal here is the new stream failing; `next` hears about it.
            if self.stream.send(input).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}
