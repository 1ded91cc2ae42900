//! The timestamps of a turn in progress, turned into its metrics event.

use std::time::{Duration, Instant};

use crate::events::TurnMetrics;
use crate::flow::LlmFigures;

#[derive(Debug, Default)]
pub(super) struct TurnClock {
    pub speech_ended: Option<Instant>,
    pub transcript: Option<Instant>,
    pub committed: Option<Instant>,
    pub tts_sent: Option<Instant>,
    pub tts_first_audio: Option<Instant>,
    pub first_played: Option<Instant>,
    pub tts_characters: u32,
    pub interrupted: bool,
}

impl TurnClock {
    pub fn metrics(&self, turn: u32, llm: &LlmFigures) -> TurnMetrics {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let between = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(ms(b.saturating_duration_since(a))),
            _ => None,
        };
        TurnMetrics {
            turn,
            eou_delay_ms: between(self.speech_ended, self.committed),
            stt_delay_ms: between(self.speech_ended, self.transcript),
            llm_ttft_ms: llm.ttft.map(ms),
            tts_ttfb_ms: between(self.tts_sent, self.tts_first_audio),
            response_ms: between(self.committed, self.first_played),
            prompt_tokens: llm.prompt_tokens,
            completion_tokens: llm.completion_tokens,
            cached_prompt_tokens: llm.cached_prompt_tokens,
            tts_characters: self.tts_characters,
            interrupted: self.interrupted,
        }
    }
}

/// Adds a later reply's figures to the turn's: the first request's time to first token, the
/// sum of the usage.
pub(super) fn add_figures(total: &mut LlmFigures, more: &LlmFigures) {
    total.ttft = total.ttft.or(more.ttft);
    total.prompt_tokens += more.prompt_tokens;
    total.completion_tokens += more.completion_tokens;
    total.cached_prompt_tokens += more.cached_prompt_tokens;
}
