//! [ours] How the agent takes turns, for those who tune it: endpointing delays, what counts as
//! an interruption, and the backchannels ("mm-hm", "yeah") that never interrupt. The names
//! follow LiveKit Agents' session options; every field is optional and defaults to the
//! voice loop's own (see `voice::VoiceOptions`).
//!
//! ```json
//! "turnTaking": {
//!   "turnDetection": "vad",
//!   "vad": "earshot",
//!   "preemptiveGeneration": true,
//!   "minEndpointingDelay": 0.5,
//!   "maxEndpointingDelay": 3.0,
//!   "minInterruptionDuration": 0.5,
//!   "minInterruptionWords": 0,
//!   "falseInterruptionTimeout": 2.0,
//!   "backchannels": true
//! }
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnTakingConfig {
    /// Who decides that the user's turn has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_detection: Option<TurnDetection>,
    /// Which network hears speech: `earshot` (built in) or `silero` (Silero VAD v6, fetched on
    /// first use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vad: Option<VadModel>,
    /// Start the LLM on a settled final transcript before the end of turn is confirmed; a
    /// reply whose words the user then changes is dropped, never spoken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptive_generation: Option<bool>,
    /// Seconds of silence after speech before a turn with a final transcript ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_endpointing_delay: Option<f64>,
    /// The longest wait, in seconds, for the STT to confirm words after speech ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_endpointing_delay: Option<f64>,
    /// Seconds of user speech that interrupt the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interruption_duration: Option<f64>,
    /// Words that interrupt the agent even before the duration (0: duration only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interruption_words: Option<u32>,
    /// Seconds without words after which an interruption was false and the agent resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_interruption_timeout: Option<f64>,
    /// Short acknowledgements that neither interrupt the agent nor make a turn while it is
    /// busy: `true` for the built-in English list, or your own words and phrases.
    #[serde(default, skip_serializing_if = "BackchannelSetting::is_off")]
    pub backchannels: BackchannelSetting,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum BackchannelSetting {
    Enabled(bool),
    Words(Vec<String>),
}

impl Default for BackchannelSetting {
    fn default() -> Self {
        Self::Enabled(false)
    }
}

impl BackchannelSetting {
    pub fn is_off(&self) -> bool {
        matches!(self, Self::Enabled(false))
    }
}

/// Who decides that the user's turn has ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnDetection {
    /// Silence heard by the VAD (`minEndpointingDelay` after speech, longer while the STT has
    /// not confirmed the words); the STT is asked to finalise when speech ends.
    #[default]
    Vad,
    /// The STT provider's own endpointing (a final transcript marked as the end of speech, or
    /// its end-of-utterance event), with VAD silence of `maxEndpointingDelay` as the safety
    /// net. Only for streaming STTs; a batch STT keeps VAD detection.
    Stt,
    /// The user's app ends each turn (`end_turn` on the control topic, as a talk button
    /// does); silence never does.
    Manual,
    /// A local end-of-turn model (Smart Turn v3.2) hears the last 8 s of the user's audio
    /// when their speech ends: done, the turn ends after `minEndpointingDelay`; not done (a
    /// pause mid-thought), it waits up to `maxEndpointingDelay` for more.
    Model,
}

/// The network that hears the user's speech.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VadModel {
    /// earshot: pure Rust, weights compiled in, 16 ms windows.
    #[default]
    Earshot,
    /// Silero VAD v6 (MIT) on tract, 32 ms windows; its weights come from the `silero-vad`
    /// PyPI package on first use. Until they are at hand, sessions use earshot.
    Silero,
}
