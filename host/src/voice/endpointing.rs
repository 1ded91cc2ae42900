//! Where a user turn ends: VAD end of speech plus the STT transcript, with the field's
//! endpointing delays (min 0.5 s of silence; up to 3.0 s while words are still unconfirmed).
//! Sans-I/O: time is passed in.

use std::time::{Duration, Instant};

pub use crate::config::TurnDetection;

#[derive(Debug, Clone, PartialEq)]
pub struct Endpointing {
    /// VAD silence, or the STT's own endpointing.
    pub detection: TurnDetection,
    /// Silence after speech before a turn with a final transcript ends.
    pub min_delay: Duration,
    /// The longest wait for the STT to confirm words after speech ended.
    pub max_delay: Duration,
}

impl Default for Endpointing {
    fn default() -> Self {
        Self {
            detection: TurnDetection::Vad,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_millis(3000),
        }
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
    /// The STT said the utterance is over (and no words came after).
    stt_endpoint: bool,
    /// Words a turn was taken with before the STT confirmed them: its late final repeats them.
    taken_unconfirmed: String,
    /// Audio of this turn the VAD judged voiced, hangover excluded.
    voiced: Duration,
    /// The user's app ended the turn at this time (`end_turn`).
    committed_at: Option<Instant>,
    /// What the end-of-turn model said about the speech that ended last.
    prediction: Prediction,
    /// Numbers the model's questions, so a late answer about older speech is ignored.
    predictions_asked: u64,
}

/// The end-of-turn model's view of the current pause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Prediction {
    /// Not asked (the user is speaking, or the mode has no model).
    #[default]
    None,
    /// Asked, question number `0`; no answer yet.
    Pending(u64),
    Complete,
    Incomplete,
    /// The model could not answer (not loaded, failed): silence decides, as with the VAD.
    Unavailable,
}

impl TurnDetector {
    pub fn new(config: Endpointing) -> Self {
        Self { config, ..Default::default() }
    }

    pub fn speech_started(&mut self, at: Instant) {
        self.speaking = true;
        self.prediction = Prediction::None;
        self.speech_started_at.get_or_insert(at);
        self.speech_ended_at = None;
    }

    pub fn speech_ended(&mut self, at: Instant) {
        self.speaking = false;
        self.speech_ended_at = Some(at);
    }

    /// The end-of-turn model is asked about the speech that just ended: the question's number.
    pub fn ask_model(&mut self) -> u64 {
        self.predictions_asked += 1;
        self.prediction = Prediction::Pending(self.predictions_asked);
        self.predictions_asked
    }

    /// The model's answer to question `id`: the user is done (`Some(true)`), is not, or it could
    /// not tell (`None`). Answers about speech that has since gone on are ignored.
    pub fn model_answered(&mut self, id: u64, complete: Option<bool>) {
        if self.prediction == Prediction::Pending(id) {
            self.prediction = match complete {
                Some(true) => Prediction::Complete,
                Some(false) => Prediction::Incomplete,
                None => Prediction::Unavailable,
            };
        }
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Adds audio the VAD judged voiced (speaking, and above its deactivation threshold).
    pub fn add_voiced(&mut self, duration: Duration) {
        self.voiced += duration;
    }

    /// Voiced audio in this turn so far: what an interruption is measured by, as the time
    /// since the onset would also count the VAD's hangover after a short sound.
    pub fn voiced(&self) -> Duration {
        self.voiced
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
        if !self.interim.is_empty() {
            self.stt_endpoint = false;
        }
    }

    /// The STT's endpointing says the user stopped (a final marked `speech_final`, or its
    /// end-of-utterance event).
    pub fn stt_endpoint(&mut self) {
        self.stt_endpoint = true;
    }

    pub fn final_transcript(&mut self, text: &str, now: Instant) {
        self.interim.clear();
        self.awaiting_final = false;
        let taken = std::mem::take(&mut self.taken_unconfirmed);
        let text = without_words_of(text.trim(), &taken);
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

    /// The turn's words once they look final: the user is silent and the STT has confirmed
    /// every word; what preemptive generation answers.
    pub fn settled_text(&self) -> Option<&str> {
        let settled = !self.speaking && !self.finals.is_empty() && self.interim.is_empty() && !self.awaiting_final;
        settled.then_some(self.finals.as_str())
    }

    /// Who ends the turn.
    pub fn detection(&self) -> TurnDetection {
        self.config.detection
    }

    /// The words heard so far this turn, confirmed first.
    pub fn text(&self) -> String {
        match (self.finals.is_empty(), self.interim.is_empty()) {
            (_, true) => self.finals.clone(),
            (true, false) => self.interim.clone(),
            (false, false) => format!("{} {}", self.finals, self.interim),
        }
    }

    /// The user's app says the turn is over (`end_turn`): it ends once its words are final,
    /// or `max_delay` from now, whatever the detection mode and the VAD say.
    pub fn commit(&mut self, now: Instant) {
        self.committed_at.get_or_insert(now);
    }

    /// Whether the turn was ended by the user's app and waits only for its last words.
    pub fn is_committed(&self) -> bool {
        self.committed_at.is_some()
    }

    /// Forgets the turn in progress and the words its transcript has yet to confirm
    /// (`cancel_turn`): a late final of them starts nothing.
    pub fn discard(&mut self) {
        let unconfirmed = format!("{} {}", self.taken_unconfirmed, self.text());
        self.reset();
        self.taken_unconfirmed = unconfirmed.trim().to_string();
    }

    /// The turn, if it has ended by `now`.
    pub fn poll(&mut self, now: Instant) -> Option<EndOfTurn> {
        let confirmed = self.interim.is_empty() && !self.awaiting_final;
        let ready = if let Some(committed) = self.committed_at {
            confirmed || now.saturating_duration_since(committed) >= self.config.max_delay
        } else {
            // The STT's endpoint is trusted over the VAD's hangover; new words reopen the turn.
            let stt_says_done = self.config.detection == TurnDetection::Stt && self.stt_endpoint;
            if self.speaking && !stt_says_done {
                return None;
            }
            // Words the VAD missed (very short or quiet speech) still make a turn.
            let silence = now.saturating_duration_since(self.speech_ended_at.or(self.final_at)?);
            match self.config.detection {
                TurnDetection::Vad => {
                    silence >= self.config.min_delay && (confirmed || silence >= self.config.max_delay)
                }
                // The STT decides; VAD silence only ends a turn it never endpoints.
                TurnDetection::Stt => (self.stt_endpoint && confirmed) || silence >= self.config.max_delay,
                TurnDetection::Manual => false,
                // The model's "done" ends the turn at the usual delay; "not done" or no answer
                // yet waits for more speech up to the longest delay; no model: the VAD rule.
                TurnDetection::Model => match self.prediction {
                    Prediction::Complete | Prediction::Unavailable | Prediction::None => {
                        silence >= self.config.min_delay && (confirmed || silence >= self.config.max_delay)
                    }
                    Prediction::Pending(_) | Prediction::Incomplete => silence >= self.config.max_delay,
                },
            }
        };
        if !ready {
            return None;
        }
        let ended = self.speech_ended_at.or(self.committed_at).or(self.final_at).unwrap_or(now);
        let turn = EndOfTurn { text: self.text(), speech_ended_at: ended, transcript_at: self.final_at };
        let unconfirmed = std::mem::take(&mut self.interim);
        self.reset();
        self.taken_unconfirmed = unconfirmed;
        (!turn.text.is_empty()).then_some(turn)
    }

    /// Forgets the turn in progress (the user's audio was ignored, or a turn was taken).
    pub fn reset(&mut self) {
        // Question numbers go on, so an answer about a forgotten turn matches nothing.
        *self = Self { predictions_asked: self.predictions_asked, ..Self::new(self.config.clone()) };
    }
}

/// `text` without its first words when they are `taken` (compared without case and
/// punctuation, as an STT's final may differ from its interim in both).
fn without_words_of<'a>(text: &'a str, taken: &str) -> &'a str {
    let normal = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let taken: Vec<String> = taken.split_whitespace().map(normal).collect();
    if taken.is_empty() {
        return text;
    }
    let mut rest = text;
    for word in &taken {
        let trimmed = rest.trim_start();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        if trimmed.is_empty() || normal(&trimmed[..end]) != *word {
            return text;
        }
        rest = &trimmed[end..];
    }
    rest.trim()
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
    fn with_stt_detection_the_stts_endpoint_ends_the_turn_and_vad_silence_is_the_safety_net() {
        let t0 = Instant::now();
        let stt = Endpointing { detection: TurnDetection::Stt, ..Endpointing::default() };
        let mut d = TurnDetector::new(stt.clone());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(700));
        d.final_transcript("Book a table", t0 + ms(800));
        assert_eq!(d.poll(t0 + ms(1500)), None, "VAD silence alone does not end it");
        d.stt_endpoint();
        d.interim("for two");
        assert_eq!(d.poll(t0 + ms(1600)), None, "words after the endpoint reopen the turn");
        d.final_transcript("for two.", t0 + ms(1700));
        d.stt_endpoint();
        assert_eq!(d.poll(t0 + ms(1700)).unwrap().text, "Book a table for two.");

        let mut d = TurnDetector::new(stt);
        d.speech_started(t0);
        d.speech_ended(t0 + ms(500));
        d.final_transcript("Hello", t0 + ms(600));
        assert_eq!(d.poll(t0 + ms(3400)), None);
        assert_eq!(d.poll(t0 + ms(3500)).unwrap().text, "Hello", "max delay of silence");
    }

    #[test]
    fn with_the_model_done_ends_the_turn_at_the_min_delay_and_not_done_waits_for_the_max() {
        let t0 = Instant::now();
        let model = Endpointing { detection: TurnDetection::Model, ..Endpointing::default() };
        let mut d = TurnDetector::new(model.clone());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(1000));
        let asked = d.ask_model();
        d.final_transcript("I'd like to book a table.", t0 + ms(1100));
        assert_eq!(d.poll(t0 + ms(1600)), None, "no answer yet: the model is waited for");
        d.model_answered(asked, Some(true));
        assert_eq!(d.poll(t0 + ms(1600)).unwrap().text, "I'd like to book a table.");

        // "Not done": the pause is a thought, not an end; more speech joins the turn.
        d.speech_started(t0 + ms(5000));
        d.speech_ended(t0 + ms(6000));
        let pause = d.ask_model();
        d.final_transcript("I was thinking maybe", t0 + ms(6100));
        d.model_answered(pause, Some(false));
        assert_eq!(d.poll(t0 + ms(8000)), None);
        d.speech_started(t0 + ms(8500));
        d.model_answered(pause, Some(true));
        d.speech_ended(t0 + ms(9500));
        let done = d.ask_model();
        d.final_transcript("the Friday.", t0 + ms(9600));
        assert_eq!(d.poll(t0 + ms(10_000)), None, "the late answer about the pause is ignored");
        d.model_answered(done, Some(true));
        assert_eq!(d.poll(t0 + ms(10_000)).unwrap().text, "I was thinking maybe the Friday.");

        // Unanswered or incomplete: the longest delay still ends it; no model: the VAD rule.
        d.speech_started(t0 + ms(20_000));
        d.speech_ended(t0 + ms(21_000));
        let never = d.ask_model();
        d.final_transcript("Hello?", t0 + ms(21_100));
        assert_eq!(d.poll(t0 + ms(23_900)), None);
        assert_eq!(d.poll(t0 + ms(24_000)).unwrap().text, "Hello?");
        d.model_answered(never, Some(false));
        d.speech_started(t0 + ms(30_000));
        d.speech_ended(t0 + ms(31_000));
        let unavailable = d.ask_model();
        d.final_transcript("Yes.", t0 + ms(31_100));
        d.model_answered(unavailable, None);
        assert_eq!(d.poll(t0 + ms(31_500)).unwrap().text, "Yes.");
    }

    #[test]
    fn a_late_final_does_not_repeat_words_a_turn_was_taken_with() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(Endpointing::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(800));
        d.interim("cancel my order");
        assert_eq!(d.poll(t0 + ms(3800)).unwrap().text, "cancel my order");
        d.final_transcript("Cancel my order.", t0 + ms(4000));
        assert_eq!(d.poll(t0 + ms(9000)), None, "the late final is the same words");
        d.speech_started(t0 + ms(9000));
        d.speech_ended(t0 + ms(9500));
        d.final_transcript("Thanks.", t0 + ms(9600));
        assert_eq!(d.poll(t0 + ms(10_100)).unwrap().text, "Thanks.");

        d.interim("I want");
        d.speech_ended(t0 + ms(11_000));
        assert_eq!(d.poll(t0 + ms(14_000)).unwrap().text, "I want");
        d.final_transcript("I want the blue one.", t0 + ms(14_100));
        assert_eq!(d.poll(t0 + ms(14_600)).unwrap().text, "the blue one.", "only what is new");
        assert_eq!(without_words_of("Something else.", "I want"), "Something else.");
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
