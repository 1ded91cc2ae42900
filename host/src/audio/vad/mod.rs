//! Voice activity detection with per-session state.
//!
//! A [`Vad`] takes 16 kHz audio with the stream time of its first sample and returns
//! [`VadEvent`]s; it never reads a clock (sans-I/O, time is input). Every backend produces a speech
//! probability per window and hands it to the shared [`SpeechGate`], so the field's hysteresis and
//! minimum durations ([`VadConfig`]) behave identically whatever the model.
//!
//! Backends:
//! - [`EarshotVad`] (default): the pure-Rust `earshot` network, weights compiled in, 16 ms windows.
//! - [`SileroVad`] (`vad: "silero"`): Silero VAD v6 on tract, 32 ms windows, its weights fetched
//!   from PyPI on first use ([`crate::models::SILERO`]).
//!
//! Each is one `impl Vad` that computes probabilities and feeds a `SpeechGate`; nothing above the
//! trait changes.

mod earshot;
mod gate;
mod silero;

use std::time::Duration;

pub use self::earshot::EarshotVad;
pub use self::gate::SpeechGate;
pub use self::silero::SileroVad;
use super::frame::AudioFrame;

/// The sample rate every VAD backend takes; resample to it first ([`super::StreamResampler`]).
pub const VAD_SAMPLE_RATE: u32 = 16_000;

/// A speech boundary, stamped in stream time (the `now` passed to [`Vad::push`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech confirmed (after `min_speech`); `at` is when it began.
    SpeechStarted {
        /// Start of the first speech window.
        at: Duration,
        /// `at` minus `prefix_padding` (floored at zero): forward buffered audio from here so STT
        /// hears the onset.
        audio_from: Duration,
    },
    /// Silence confirmed (after `min_silence`); `at` is when the silence began.
    SpeechEnded {
        /// Start of the first silent window.
        at: Duration,
    },
}

/// Why a VAD input or configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum VadError {
    /// The frame is not at [`VAD_SAMPLE_RATE`].
    #[error("VAD needs {VAD_SAMPLE_RATE} Hz audio, got {0} Hz")]
    WrongSampleRate(u32),
    /// A threshold is outside 0..=1 or deactivation is above activation.
    #[error("VAD thresholds must satisfy 0 <= deactivation ({deactivation}) <= activation ({activation}) <= 1")]
    BadThresholds {
        /// Activation threshold given.
        activation: f32,
        /// Deactivation threshold given.
        deactivation: f32,
    },
    /// The model behind the VAD could not start.
    #[error("VAD model: {0}")]
    Model(String),
}

/// Gate parameters; the defaults are the field's (LiveKit Agents' Silero plugin).
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Speech must last this long before `SpeechStarted` (default 0.05 s).
    pub min_speech: Duration,
    /// Silence must last this long before `SpeechEnded` (default 0.25 s).
    pub min_silence: Duration,
    /// Audio kept before the onset for STT (default 0.5 s); reported as `audio_from`.
    pub prefix_padding: Duration,
    /// Probability at or above which a window counts as speech while silent (default 0.5).
    pub activation_threshold: f32,
    /// Probability below which a window counts as silence while speaking (default 0.35).
    pub deactivation_threshold: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            min_speech: Duration::from_millis(50),
            min_silence: Duration::from_millis(250),
            prefix_padding: Duration::from_millis(500),
            activation_threshold: 0.5,
            deactivation_threshold: 0.35,
        }
    }
}

impl VadConfig {
    /// Checks the thresholds are probabilities with deactivation ≤ activation.
    pub fn validate(&self) -> Result<(), VadError> {
        let (a, d) = (self.activation_threshold, self.deactivation_threshold);
        // `contains` is false for NaN, so NaN thresholds are refused too.
        if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&d) || d > a {
            return Err(VadError::BadThresholds { activation: a, deactivation: d });
        }
        Ok(())
    }
}

/// A voice activity detector for one session.
pub trait Vad: Send {
    /// Which network it is (`earshot`, `silero`), for logs.
    fn name(&self) -> &'static str;

    /// Feeds 16 kHz audio whose first sample is at stream time `now`; returns the boundaries it
    /// confirmed. Multi-channel frames are downmixed; frames may be any length (backends buffer
    /// to their window size).
    fn push(&mut self, frame: &AudioFrame, now: Duration) -> Result<Vec<VadEvent>, VadError>;

    /// Speech probability of the last complete window (0..=1).
    fn probability(&self) -> f32;

    /// True between `SpeechStarted` and `SpeechEnded`.
    fn is_speaking(&self) -> bool;

    /// Forgets all state (model memory, buffered samples, gate), e.g. after the agent's own turn.
    fn reset(&mut self);

    /// The gate configuration in use.
    fn config(&self) -> &VadConfig;
}
