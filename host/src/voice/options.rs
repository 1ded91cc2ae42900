//! The voice loop's tunables, with the field's defaults.

use std::time::Duration;

use super::backchannel::Backchannels;
use super::endpointing::Endpointing;
use crate::audio::VadConfig;
use crate::config::{BackchannelSetting, TurnTakingConfig};

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
    /// Acknowledgements that neither interrupt nor make a turn while the agent is busy
    /// (default: none, the filter is off).
    pub backchannels: Backchannels,
    /// Start the reply on a settled final transcript, before the end of turn is confirmed
    /// (default off).
    pub preemptive_generation: bool,
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
            backchannels: Backchannels::default(),
            preemptive_generation: false,
            output_rate: 48_000,
        }
    }
}

impl VoiceOptions {
    /// These options with what a config's `turnTaking` sets (validated: the numbers are in
    /// range).
    pub fn with_turn_taking(mut self, config: &TurnTakingConfig) -> Self {
        let seconds = |s: f64| Duration::try_from_secs_f64(s).unwrap_or_default();
        if let Some(detection) = config.turn_detection {
            self.endpointing.detection = detection;
        }
        if let Some(preemptive) = config.preemptive_generation {
            self.preemptive_generation = preemptive;
        }
        if let Some(s) = config.min_endpointing_delay {
            self.endpointing.min_delay = seconds(s);
        }
        if let Some(s) = config.max_endpointing_delay {
            self.endpointing.max_delay = seconds(s);
        }
        if let Some(s) = config.min_interruption_duration {
            self.min_interruption = seconds(s);
        }
        if let Some(words) = config.min_interruption_words {
            self.min_interruption_words = words as usize;
        }
        if let Some(s) = config.false_interruption_timeout {
            self.false_interruption_timeout = seconds(s);
        }
        match &config.backchannels {
            BackchannelSetting::Enabled(false) => {}
            BackchannelSetting::Enabled(true) => self.backchannels = Backchannels::english(),
            BackchannelSetting::Words(words) => self.backchannels = Backchannels::new(words),
        }
        self
    }
}
