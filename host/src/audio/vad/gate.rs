//! [`SpeechGate`]: the backend-independent hysteresis and minimum-duration state machine that turns
//! per-window speech probabilities into [`VadEvent`]s.
//!
//! Sans-I/O: each call gives a probability and the stream time span it covers; the gate never reads
//! a clock, so tests drive it with synthetic probabilities on virtual time.
//!
//! Rules (LiveKit/Silero semantics):
//! - while silent, windows with `p >= activation_threshold` accumulate; any window below it resets
//!   the run. Once the run lasts `min_speech`, `SpeechStarted { at }` is emitted with `at` = the run's
//!   first window start (not the confirmation time).
//! - while speaking, windows with `p < deactivation_threshold` accumulate silence; any window at or
//!   above it resets the silence. Once silence lasts `min_silence`, `SpeechEnded { at }` is emitted
//!   with `at` = when the silence began.

use std::time::Duration;

use super::{VadConfig, VadEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not speaking; `Some(t)` while a run of speech-like windows since `t` is being confirmed.
    Silent { run_from: Option<Duration> },
    /// Speaking; `Some(t)` while a run of silent windows since `t` is being confirmed.
    Speaking { silence_from: Option<Duration> },
}

/// Hysteresis + min-duration gate over speech probabilities.
#[derive(Debug, Clone)]
pub struct SpeechGate {
    config: VadConfig,
    state: State,
    probability: f32,
}

impl SpeechGate {
    /// A silent gate.
    pub fn new(config: VadConfig) -> Self {
        Self { config, state: State::Silent { run_from: None }, probability: 0.0 }
    }

    /// The configuration.
    pub fn config(&self) -> &VadConfig {
        &self.config
    }

    /// The last probability pushed.
    pub fn probability(&self) -> f32 {
        self.probability
    }

    /// True between `SpeechStarted` and `SpeechEnded`.
    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Back to silent, forgetting any run in progress.
    pub fn reset(&mut self) {
        self.state = State::Silent { run_from: None };
        self.probability = 0.0;
    }

    /// Feeds the probability of the window `[start, start + len)`; returns an event on a transition.
    pub fn push(&mut self, probability: f32, start: Duration, len: Duration) -> Option<VadEvent> {
        // A NaN from a backend would compare false everywhere; treat it as silence.
        let p = if probability.is_nan() { 0.0 } else { probability.clamp(0.0, 1.0) };
        self.probability = p;
        let end = start + len;
        match self.state {
            State::Silent { run_from } => {
                if p < self.config.activation_threshold {
                    self.state = State::Silent { run_from: None };
                    return None;
                }
                let from = run_from.unwrap_or(start);
                if end.saturating_sub(from) >= self.config.min_speech {
                    self.state = State::Speaking { silence_from: None };
                    return Some(VadEvent::SpeechStarted {
                        at: from,
                        audio_from: from.saturating_sub(self.config.prefix_padding),
                    });
                }
                self.state = State::Silent { run_from: Some(from) };
                None
            }
            State::Speaking { silence_from } => {
                if p >= self.config.deactivation_threshold {
                    self.state = State::Speaking { silence_from: None };
                    return None;
                }
                let from = silence_from.unwrap_or(start);
                if end.saturating_sub(from) >= self.config.min_silence {
                    self.state = State::Silent { run_from: None };
                    return Some(VadEvent::SpeechEnded { at: from });
                }
                self.state = State::Speaking { silence_from: Some(from) };
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIN: Duration = Duration::from_millis(16);

    /// Feeds one probability per 16 ms window from t = 0; returns (window index, event) pairs.
    fn run(gate: &mut SpeechGate, probs: &[f32]) -> Vec<(usize, VadEvent)> {
        probs.iter().enumerate().filter_map(|(i, &p)| gate.push(p, WIN * i as u32, WIN).map(|e| (i, e))).collect()
    }

    #[test]
    fn defaults_match_the_field() {
        let c = VadConfig::default();
        assert_eq!(c.min_speech, Duration::from_millis(50));
        assert_eq!(c.min_silence, Duration::from_millis(250));
        assert_eq!(c.prefix_padding, Duration::from_millis(500));
        assert_eq!(c.activation_threshold, 0.5);
        assert_eq!(c.deactivation_threshold, 0.35);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn start_needs_min_speech_and_reports_onset() {
        let mut g = SpeechGate::new(VadConfig::default());
        // 3 windows (48 ms) is short of 50 ms; a dip resets the run.
        let mut probs = vec![0.0; 10];
        probs.extend([0.9, 0.9, 0.9, 0.1]);
        probs.extend([0.8; 4]);
        let ev = run(&mut g, &probs);
        // Onset at window 14; the 4th window (end = 18·16 ms = 288 ms ≥ 224 + 50) confirms.
        assert_eq!(
            ev,
            vec![(
                17,
                VadEvent::SpeechStarted {
                    at: WIN * 14,
                    audio_from: (WIN * 14).saturating_sub(Duration::from_millis(500))
                }
            )]
        );
        assert!(g.is_speaking());
        assert_eq!(g.probability(), 0.8);
    }

    #[test]
    fn hysteresis_keeps_speech_between_thresholds_and_end_needs_min_silence() {
        let mut g = SpeechGate::new(VadConfig::default());
        let mut probs = vec![0.9; 5];
        // Between deactivation (0.35) and activation (0.5): still speech.
        probs.extend([0.4; 30]);
        // A 240 ms pause (15 windows) is not an end...
        probs.extend([0.1; 15]);
        probs.push(0.9);
        // ...but 16 windows (256 ms) is; the end is stamped at the pause's start.
        probs.extend([0.1; 16]);
        let ev = run(&mut g, &probs);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(matches!(ev[0], (3, VadEvent::SpeechStarted { at, .. }) if at == Duration::ZERO));
        assert_eq!(ev[1], (66, VadEvent::SpeechEnded { at: WIN * 51 }));
        assert!(!g.is_speaking());
    }

    #[test]
    fn nan_and_out_of_range_are_clamped_and_reset_forgets() {
        let mut g = SpeechGate::new(VadConfig::default());
        assert!(
            run(&mut g, &[f32::NAN, 7.0, 7.0, 7.0, 7.0])
                .iter()
                .any(|(_, e)| matches!(e, VadEvent::SpeechStarted { .. }))
        );
        assert_eq!(g.probability(), 1.0);
        g.reset();
        assert!(!g.is_speaking());
        assert!(run(&mut g, &[-1.0; 40]).is_empty());
    }
}
