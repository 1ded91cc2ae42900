//! Transcription through the STT plugin: one stream per session (streaming providers) that
//! audio frames go into and transcripts come out of.
//!
//! A [`Transcriber`] may be a chain: the configured STT, then its `fallbacks` in order, each
//! taking the same audio (validation checks). When the provider in use cannot serve (it does
//! not connect, times out, answers 429 or 5xx: [`switches_provider`]), at the start or in the
//! middle of the session, the next one is opened in its place and given the audio of the
//! utterance in progress (everything since the last final transcript, at most
//! [`REPLAY_LIMIT`]) and its pending flush, so nothing the user said is lost and the voice loop
//! never notices; the failed provider cools down and the switch is reported ([`super::chain`]).
//! Audio sent after a final but before it arrived (the silence after the user's words, mostly)
//! is not kept.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::chain::{ChainState, switches_provider};
use super::settings::stt_input;
use crate::events::EventSink;
use crate::plugin::types::{Event, SttEvent, Transcript};
use crate::plugin::{
    OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamInput, StreamOutput, stt,
};

/// Provider endpointing asked of streaming STT: short, since the host decides the turn end.
const PROVIDER_ENDPOINTING_MS: u32 = 300;

/// The longest stretch of an utterance kept for a fallback provider.
pub const REPLAY_LIMIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Transcriber {
    runtime: PluginRuntime,
    providers: Arc<[ProviderSettings]>,
    chain: ChainState,
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
    transcriber: Transcriber,
    /// The provider transcribing (an index into the chain).
    index: usize,
    stream: StreamHandle,
    /// Kept, so the audio path does not clone a sender per frame.
    input: tokio::sync::mpsc::Sender<StreamInput>,
    /// Providers tried since the last transcript.
    tried: Vec<usize>,
    /// The utterance in progress, for the next provider; only with fallbacks.
    replay: Option<Replay>,
    /// Whether the current provider has given a transcript yet.
    served: bool,
}

/// The audio since the last final transcript (a bounded ring, allocated once) and whether a
/// flush was asked since.
struct Replay {
    audio: VecDeque<i16>,
    limit: usize,
    flushed: bool,
}

fn label(settings: &ProviderSettings) -> String {
    format!("{}/{}", settings.provider, settings.model)
}

impl Transcriber {
    pub fn new(
        runtime: PluginRuntime,
        settings: ProviderSettings,
        keyterms: Vec<String>,
        diarization: bool,
        detect_language: bool,
    ) -> Self {
        let chain = ChainState::new("stt", vec![label(&settings)]);
        Self { runtime, providers: Arc::new([settings]), chain, keyterms, diarization, detect_language }
    }

    /// With `fallbacks` after the configured STT.
    pub fn with_fallbacks(self, fallbacks: impl IntoIterator<Item = ProviderSettings>) -> Self {
        let providers: Vec<ProviderSettings> = self.providers.iter().cloned().chain(fallbacks).collect();
        let chain = ChainState::new("stt", providers.iter().map(label).collect());
        Self { providers: providers.into(), chain, ..self }
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

    /// The configured provider's input rate (16 kHz unless it declared another).
    pub fn sample_rate(&self) -> u32 {
        stt_input(&self.runtime, &self.providers[0].provider).map_or(16_000, |input| input.sample_rate)
    }

    /// Streaming providers get every frame; batch ones one utterance per flush.
    pub fn is_streaming(&self) -> bool {
        stt_input(&self.runtime, &self.providers[0].provider).is_none_or(|input| input.streaming)
    }

    pub async fn open(&self) -> Result<Transcription, StreamError> {
        let (index, stream, tried) = self.open_next(Vec::new(), None).await?;
        let replay = (self.providers.len() > 1).then(|| {
            let limit = (REPLAY_LIMIT.as_millis() as usize) * self.sample_rate() as usize / 1000;
            Replay { audio: VecDeque::with_capacity(limit), limit, flushed: false }
        });
        let input = stream.sender();
        Ok(Transcription { transcriber: self.clone(), index, stream, input, tried, replay, served: false })
    }

    /// Opens the first provider in the chain's order not in `tried`, passing over those that
    /// cannot serve now; `failed` is the provider (and why) the session leaves, if any.
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
            let settings = &self.providers[index];
            let request = stt::Request {
                sample_rate: self.sample_rate(),
                interim_results: true,
                detect_language: self.detect_language,
                diarization: self.diarization,
                keyterms: self.keyterms.clone(),
                endpointing_ms: Some(PROVIDER_ENDPOINTING_MS),
                options: serde_json::Value::Object(settings.options.clone()).to_string(),
            };
            match self.runtime.open(settings, OpenRequest::Stt(request)).await {
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
        Err(failed.map(|(_, e)| e).unwrap_or_else(|| StreamError::Io("no STT provider left to try".into())))
    }
}

impl Transcription {
    /// Sends audio without waiting: false when the queue is full and the frame was not taken
    /// (the voice driver counts those) rather than stall the audio loop.
    pub fn push(&mut self, samples: Vec<i16>) -> bool {
        if let Some(replay) = &mut self.replay {
            let overflow = (replay.audio.len() + samples.len()).saturating_sub(replay.limit);
            replay.audio.drain(..overflow.min(replay.audio.len()));
            replay.audio.extend(&samples[samples.len().saturating_sub(replay.limit)..]);
        }
        self.input.try_send(StreamInput::Audio(samples)).is_ok()
    }

    /// Finalise the current utterance (without waiting; false if the queue is full).
    pub fn flush_now(&mut self) -> bool {
        if let Some(replay) = &mut self.replay {
            replay.flushed = true;
        }
        self.input.try_send(StreamInput::Flush).is_ok()
    }

    pub async fn next(&mut self) -> Option<Result<SttChunk, StreamError>> {
        loop {
            let chunk = match self.stream.next().await? {
                StreamOutput::Event(Event::Stt(event)) => match event {
                    SttEvent::Interim(t) => SttChunk::Interim(t),
                    SttEvent::Final(t) => {
                        if let Some(replay) = &mut self.replay {
                            replay.audio.clear();
                            replay.flushed = false;
                        }
                        SttChunk::Final(t)
                    }
                    SttEvent::SpeechStarted(_) => SttChunk::SpeechStarted,
                    SttEvent::SpeechEnded(_) => SttChunk::SpeechEnded,
                },
                StreamOutput::Event(other) => {
                    tracing::debug!(?other, "non-STT event from an STT stream ignored");
                    continue;
                }
                StreamOutput::Finished => return None,
                StreamOutput::Failed(error) => {
                    if self.replay.is_some() && switches_provider(&error) {
                        match self.move_on(error).await {
                            Ok(()) => continue,
                            Err(error) => return Some(Err(error)),
                        }
                    }
                    if switches_provider(&error) {
                        self.transcriber.chain.served(self.index, true);
                    }
                    return Some(Err(error));
                }
            };
            if !self.served {
                // The provider works: it takes its place in the chain again, and the next
                // failure may go back to any other.
                self.served = true;
                self.transcriber.chain.served(self.index, false);
                self.tried = vec![self.index];
            }
            return Some(Ok(chunk));
        }
    }

    /// The provider failed: the next one takes over with the utterance in progress.
    async fn move_on(&mut self, error: StreamError) -> Result<(), StreamError> {
        self.transcriber.chain.served(self.index, true);
        if self.tried.len() >= self.transcriber.providers.len() {
            return Err(error);
        }
        let tried = std::mem::take(&mut self.tried);
        let (index, stream, tried) = self.transcriber.open_next(tried, Some((self.index, error))).await?;
        self.input = stream.sender();
        (self.index, self.stream, self.tried, self.served) = (index, stream, tried, false);
        if let Some(replay) = &self.replay {
            let (audio, flushed) = (replay.audio.iter().copied().collect::<Vec<i16>>(), replay.flushed);
            let inputs = (!audio.is_empty()).then_some(StreamInput::Audio(audio));
            for input in inputs.into_iter().chain(flushed.then_some(StreamInput::Flush)) {
                // A refusal here is the new stream failing; `next` hears about it.
                if self.input.send(input).await.is_err() {
                    break;
                }
            }
        }
        Ok(())
    }
}
