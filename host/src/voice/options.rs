//! The voice loop's tunables, with the field's defaults.

use std::time::Duration;

use super::endpointing::Endpointing;
use crate::audio::VadConfig;

#[derive(Debug, Clone, PartialEq)]
pub struct VoiceOptions {
    pub vad: VadConfig,
    pub endpointing: Endpointing,
    /// Speech needed to interrupt the agent (default 0.5 s).
    pub min_interruption: Duration,
    /// Words needed to interrupt the agent, besides the duration (default 0: duration only).
    pub min_interruption_words: usize,
    /// After an interruption with no words from the user within this time, the agent resumes
    /// what it was saying (default 2 s).
    pub false_interruption_timeout: Duration,
    /// Sample rate of the agent's audio out (LiveKit and WebRTC use 48 kHz).
    pub output_rate: u32,
}

impl Default for VoiceOptions {
    fn default() -> Self {
        Self {
            vad: VadConfig::default(),
            endpointing: Endpointing::default(),
            min_interruption: Duration::from_millis(500),
            min_interruption_words: 0,
            false_interruption_timeout: Duration::from_secs(2),
            output_rate: 48_000,
        }
    }
}
