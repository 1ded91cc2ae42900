//! [`SileroVad`]: Silero VAD v6 (`vad: "silero"`), scoring 512-sample (32 ms) windows of 16 kHz
//! mono audio with the model shared by the process ([`crate::models::SILERO`]) and this
//! session's own recurrent state. Its probabilities go through the same [`SpeechGate`] as
//! earshot's, so the thresholds and minimum durations mean the same.

use std::time::Duration;

use voiceblox_turn::{SILERO_CHUNK, SileroModel, SileroStream};

use super::{SpeechGate, VAD_SAMPLE_RATE, Vad, VadConfig, VadError, VadEvent};
use crate::audio::frame::AudioFrame;

const WINDOW_LEN: Duration = Duration::from_millis(32);

/// Silero-backed [`Vad`] for one session.
pub struct SileroVad {
    stream: SileroStream,
    gate: SpeechGate,
    /// Samples waiting for a full window.
    pending: Vec<i16>,
    window: Box<[f32; SILERO_CHUNK]>,
}

impl std::fmt::Debug for SileroVad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroVad").field("gate", &self.gate).field("pending", &self.pending.len()).finish()
    }
}

impl SileroVad {
    /// A silent detector on `model` with `config`, refused if its thresholds are invalid.
    pub fn new(model: &SileroModel, config: VadConfig) -> Result<Self, VadError> {
        config.validate()?;
        let stream = model.stream().map_err(|e| VadError::Model(e.to_string()))?;
        Ok(Self {
            stream,
            gate: SpeechGate::new(config),
            pending: Vec::with_capacity(SILERO_CHUNK * 2),
            window: Box::new([0.0; SILERO_CHUNK]),
        })
    }
}

impl Vad for SileroVad {
    fn name(&self) -> &'static str {
        "silero"
    }

    fn push(&mut self, frame: &AudioFrame, now: Duration) -> Result<Vec<VadEvent>, VadError> {
        if frame.sample_rate() != VAD_SAMPLE_RATE {
            return Err(VadError::WrongSampleRate(frame.sample_rate()));
        }
        // Samples carried over from the previous push started before `now`.
        let carried = Duration::from_micros(self.pending.len() as u64 * 1_000_000 / u64::from(VAD_SAMPLE_RATE));
        let mut start = now.saturating_sub(carried);
        if frame.channels() == 1 {
            self.pending.extend_from_slice(frame.samples());
        } else {
            self.pending.extend_from_slice(frame.to_mono().samples());
        }
        let mut events = Vec::new();
        let mut used = 0;
        while self.pending.len() - used >= SILERO_CHUNK {
            let chunk = &self.pending[used..used + SILERO_CHUNK];
            for (to, &from) in self.window.iter_mut().zip(chunk) {
                *to = f32::from(from) / 32768.0;
            }
            used += SILERO_CHUNK;
            // A failed window is heard as silence: it can only end speech, never invent it.
            let p = match self.stream.process(&self.window) {
                Ok(p) => p,
                Err(error) => {
                    tracing::warn!(%error, "Silero VAD window failed");
                    0.0
                }
            };
            events.extend(self.gate.push(p, start, WINDOW_LEN));
            start += WINDOW_LEN;
        }
        self.pending.drain(..used);
        Ok(events)
    }

    fn probability(&self) -> f32 {
        self.gate.probability()
    }

    fn is_speaking(&self) -> bool {
        self.gate.is_speaking()
    }

    fn reset(&mut self) {
        self.stream.reset();
        self.gate.reset();
        self.pending.clear();
    }

    fn config(&self) -> &VadConfig {
        self.gate.config()
    }
}
