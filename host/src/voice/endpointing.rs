//! Where a user turn ends: VAD end of speech plus the STT transcript, with the field's
//! endpointing delays (min 0.5 s of silence; up to 3.0 s while words are still unconfirmed).
//! Sans-I/O: time is passed in.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct Endpointing {
    /// Silence after speech before a turn with a final transcript ends.
    pub min_delay: Duration,
    /// The longest wait for the STT to confirm words after speech ended.
    pub max_delay: Duration,
}

impl Default for Endpointing {
    fn default() -> Self {
        Self { min_delay: Duration::from_millis(500), max_delay: Duration::from_millis(3000) }
    }
}

/// A finished user turn.
#[derive(Debug, Clone, PartialEq)]
pub struct EndOfTurn {
    pub text: String,
    /// When the user stopped speaking (VAD).
    pub speech_ended_at: Instant,
    /// When the last final transcript arrived.
    pub transcript_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct TurnDetector {
    config: Endpointing,
    speaking: bool,
    speech_started_at: Option<Instant>,
    speech_ended_at: Option<Instant>,
    finals: String,
    interim: String,
    final_at: Option<Instant>,
    /// A batch transcription was requested and has not answered yet.
    awaiting_final: bool,
}

impl TurnDetector {
    pub fn new(config: Endpointing) -> Self {
        Self { config, ..Default::default() }
    }

    pub fn speech_started(&mut self, at: Instant) {
        self.speaking = true;
        self.speech_started_at.get_or_insert(at);
        self.speech_ended_at = None;
    }

    pub fn speech_ended(&mut self, at: Instant) {
        self.speaking = false;
        self.speech_ended_at = Some(at);
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// How long the user has been speaking in this turn.
    pub fn speech_duration(&self, now: Instant) -> Duration {
        match (self.speaking, self.speech_started_at) {
            (true, Some(start)) => now.saturating_duration_since(start),
            _ => Duration::ZERO,
        }
    }

    /// Unconfirmed words of the utterance in progress (replaces the previous interim).
    pub fn interim(&mut self, text: &str) {
        self.interim = text.trim().to_string();
    }

    pub fn final_transcript(&mut self, text: &str, now: Instant) {
        self.interim.clear();
        self.awaiting_final = false;
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if !self.finals.is_empty() {
            self.finals.push(' ');
        }
        self.finals.push_str(text);
        self.final_at = Some(now);
    }

    /// A batch transcription of the utterance was requested.
    pub fn await_final(&mut self) {
        self.awaiting_final = true;
    }

    /// Words heard so far this turn, confirmed or not.
    pub fn words(&self) -> usize {
        self.finals.split_whitespace().count() + self.interim.split_whitespace().count()
    }

    /// The words heard so far this turn, confirmed first.
    pub fn text(&self) -> String {
        match (self.finals.is_empty(), self.interim.is_empty()) {
            (_, true) => self.finals.clone(),
            (true, false) => self.interim.clone(),
            (false, false) => format!("{} {}", self.finals, self.interim),
        }
    }

    /// The turn, if it has ended by `now`.
    pub fn poll(&mut self, now: Instant) -> Option<EndOfTurn> {
        if self.speaking {
            return None;
        }
        // Words the VAD missed (very short or quiet speech) still make a turn.
        let ended = self.speech_ended_at.or(self.final_at)?;
        let silence = now.saturating_duration_since(ended);
        if silence < self.config.min_delay {
            return None;
        }
        let unconfirmed = !self.interim.is_empty() || self.awaiting_final;
        if unconfirmed && silence < self.config.max_delay {
            return None;
        }
        let turn = EndOfTurn { text: self.text(), speech_ended_at: ended, transcript_at: self.final_at };
        self.reset();
        (!turn.text.is_empty()).then_some(turn)
    }

    /// Forgets the turn in progress (the user's audio was ignored, or a turn was taken).
    pub fn reset(&mut self) {
        *self = Self::new(self.config.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_final_transcript_ends_the_turn_after_the_min_delay() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(Endpointing::default());
        d.speech_started(t0);
        d.interim("I need");
        d.speech_ended(t0 + ms(1000));
        d.final_transcript("I need help.", t0 + ms(1200));
        assert_eq!(d.poll(t0 + ms(1400)), None, "min delay not over");
        let turn = d.poll(t0 + ms(1500)).unwrap();
        assert_eq!(turn.text, "I need help.");
        assert_eq!(turn.speech_ended_at, t0 + ms(1000));
        assert_eq!(d.poll(t0 + ms(1600)), None, "taken once");
    }

    #[test]
    fn unconfirmed_words_wait_for_the_stt_up_to_the_max_delay() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(Endpointing::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(800));
        d.interim("cancel my");
        assert_eq!(d.poll(t0 + ms(2000)), None);
        assert_eq!(d.poll(t0 + ms(3800)).unwrap().text, "cancel my");
    }

    #[test]
    fn speech_resuming_keeps_the_turn_open_and_silence_without_words_is_no_turn() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(Endpointing::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(500));
        d.final_transcript("Well,", t0 + ms(600));
        d.speech_started(t0 + ms(800));
        assert_eq!(d.poll(t0 + ms(1500)), None, "still speaking");
        assert_eq!(d.speech_duration(t0 + ms(1500)), ms(1500));
        d.speech_ended(t0 + ms(1600));
        d.final_transcript("I think so.", t0 + ms(1700));
        assert_eq!(d.poll(t0 + ms(2100)).unwrap().text, "Well, I think so.");

        d.speech_started(t0 + ms(3000));
        d.speech_ended(t0 + ms(3300));
        assert_eq!(d.poll(t0 + ms(9000)), None, "a cough is not a turn");
    }

    #[test]
    fn a_batch_transcription_is_awaited() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(Endpointing::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(700));
        d.await_final();
        assert_eq!(d.poll(t0 + ms(1500)), None);
        d.final_transcript("Book a table.", t0 + ms(1600));
        assert_eq!(d.poll(t0 + ms(1600)).unwrap().text, "Book a table.");
    }
}
