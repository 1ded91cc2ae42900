//! Which `Turn` updates become interims and which one becomes the turn's single final.
//!
//! AssemblyAI sends the current turn again with every change: `end_of_turn: false` updates are
//! interims, and the turn ends with an `end_of_turn: true` update. With `format_turns=true` the
//! servers have sent the end of a turn two ways: older ones send it unformatted first and then a
//! formatted copy (`turn_is_formatted: true`), newer ones format in the model and send one
//! formatted `end_of_turn` message. The final is the formatted end of turn: an unformatted one
//! is held (and shown as an interim) until its formatted copy arrives, and released as the final
//! if the copy never comes (the next turn starts, or the session terminates). A turn whose final
//! was emitted is never emitted again.

use crate::message::{Turn, TurnWord, ms};
use voiceblox_plugin_contract::types::{SttEvent, Transcript, Word};

#[derive(Debug)]
pub struct Turns {
    format_turns: bool,
    interim_results: bool,
    fallback_language: Option<String>,
    /// The highest `turn_order` emitted as a final.
    finalized: Option<u32>,
    /// An unformatted end of turn waiting for its formatted copy.
    held: Option<Turn>,
}

impl Turns {
    pub fn new(format_turns: bool, interim_results: bool, fallback_language: Option<String>) -> Self {
        Turns { format_turns, interim_results, fallback_language, finalized: None, held: None }
    }

    /// The events one `Turn` message calls for.
    pub fn on_turn(&mut self, turn: Turn) -> Vec<SttEvent> {
        if self.finalized.is_some_and(|done| turn.turn_order <= done) {
            // A formatted copy of a turn already released, or a replay: never a second final.
            return Vec::new();
        }
        let mut events = Vec::new();
        if self.held.as_ref().is_some_and(|held| held.turn_order != turn.turn_order) {
            events.extend(self.release());
        }
        if !turn.end_of_turn {
            events.extend(self.interim(&turn));
        } else if self.format_turns && !turn.turn_is_formatted {
            events.extend(self.interim(&turn));
            self.held = Some(turn);
        } else {
            self.held = None;
            events.extend(self.final_events(turn));
        }
        events
    }

    /// The held unformatted end of turn as the final, when its formatted copy will not come.
    pub fn release(&mut self) -> Vec<SttEvent> {
        self.held.take().map(|turn| self.final_events(turn)).unwrap_or_default()
    }

    fn interim(&self, turn: &Turn) -> Option<SttEvent> {
        if !self.interim_results || turn.words.is_empty() {
            return None;
        }
        // All words, the not-yet-final last ones included: `transcript` lags behind them.
        let text = turn.words.iter().map(|w| w.text.trim()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
        Some(SttEvent::Interim(self.transcript(turn, text, false)))
    }

    fn final_events(&mut self, turn: Turn) -> Vec<SttEvent> {
        self.finalized = Some(turn.turn_order);
        let text = turn.transcript.trim().to_string();
        let transcript = self.transcript(&turn, text, true);
        // An empty end of turn (a ForceEndpoint in silence) still closes the utterance, but no
        // speech ended.
        let ended = (!transcript.words.is_empty()).then_some(SttEvent::SpeechEnded(transcript.end_ms));
        std::iter::once(SttEvent::Final(transcript)).chain(ended).collect()
    }

    fn transcript(&self, turn: &Turn, text: String, speech_final: bool) -> Transcript {
        let words: Vec<Word> = turn.words.iter().map(word).collect();
        // AssemblyAI gives no turn confidence: the words' mean stands in for it.
        let confidence =
            if words.is_empty() { 0.0 } else { words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32 };
        Transcript {
            text,
            confidence,
            language: turn.language_code.clone().or_else(|| self.fallback_language.clone()),
            start_ms: words.first().map_or(0, |w| w.start_ms),
            end_ms: words.last().map_or(0, |w| w.end_ms),
            words,
            speech_final,
        }
    }
}

fn word(word: &TurnWord) -> Word {
    Word {
        text: word.text.clone(),
        start_ms: ms(word.start),
        end_ms: ms(word.end),
        confidence: word.confidence as f32,
        speaker: word.speaker.as_deref().and_then(speaker_index),
    }
}

/// `"A"` → 0, `"B"` → 1 ... `"AA"` → 26; `"UNKNOWN"` (turns under a second) → none.
fn speaker_index(label: &str) -> Option<u32> {
    if label.is_empty() || label.len() > 3 || !label.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let index = label.bytes().fold(0u32, |n, b| n * 26 + u32::from(b - b'A') + 1);
    Some(index - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(order: u32, end: bool, formatted: bool, transcript: &str, words: &[(&str, f64, f64)]) -> Turn {
        Turn {
            turn_order: order,
            turn_is_formatted: formatted,
            end_of_turn: end,
            transcript: transcript.into(),
            words: words
                .iter()
                .map(|(text, start, end)| TurnWord {
                    text: (*text).into(),
                    start: *start,
                    end: *end,
                    confidence: 0.5,
                    word_is_final: true,
                    speaker: None,
                })
                .collect(),
            language_code: None,
        }
    }

    fn finals(events: &[SttEvent]) -> Vec<&str> {
        events.iter().filter_map(|e| if let SttEvent::Final(t) = e { Some(t.text.as_str()) } else { None }).collect()
    }

    #[test]
    fn an_unformatted_end_waits_for_its_formatted_copy() {
        let mut turns = Turns::new(true, true, None);
        let held = turns.on_turn(turn(0, true, false, "hi there", &[("hi", 0.0, 100.0), ("there", 100.0, 300.0)]));
        assert!(matches!(held.as_slice(), [SttEvent::Interim(t)] if t.text == "hi there"));
        let done = turns.on_turn(turn(0, true, true, "Hi there.", &[("Hi", 0.0, 100.0), ("there.", 100.0, 300.0)]));
        assert_eq!(finals(&done), ["Hi there."]);
        assert_eq!(done.last(), Some(&SttEvent::SpeechEnded(300)));
        assert!(turns.release().is_empty());
    }

    #[test]
    fn a_missing_copy_is_released_by_the_next_turn_or_the_end() {
        let mut turns = Turns::new(true, true, None);
        turns.on_turn(turn(0, true, false, "one", &[("one", 0.0, 100.0)]));
        let next = turns.on_turn(turn(1, false, false, "", &[("two", 500.0, 600.0)]));
        assert_eq!(finals(&next), ["one"]);
        assert!(matches!(next.last(), Some(SttEvent::Interim(t)) if t.text == "two"));
        // The late copy of turn 0 is not a second final.
        assert!(turns.on_turn(turn(0, true, true, "One.", &[("One.", 0.0, 100.0)])).is_empty());
        turns.on_turn(turn(1, true, false, "two", &[("two", 500.0, 600.0)]));
        assert_eq!(finals(&turns.release()), ["two"]);
    }

    #[test]
    fn without_formatting_the_end_of_turn_is_final() {
        let mut turns = Turns::new(false, false, Some("en".into()));
        assert!(turns.on_turn(turn(0, false, false, "", &[("hi", 0.0, 100.0)])).is_empty(), "no interims asked");
        let events = turns.on_turn(turn(0, true, false, "hi", &[("hi", 0.0, 100.0)]));
        let [SttEvent::Final(t), SttEvent::SpeechEnded(100)] = events.as_slice() else { panic!("{events:?}") };
        assert!(t.speech_final);
        assert_eq!(t.language.as_deref(), Some("en"));
    }

    #[test]
    fn an_empty_end_of_turn_is_an_empty_final() {
        let mut turns = Turns::new(true, true, None);
        let events = turns.on_turn(turn(3, true, true, "", &[]));
        assert!(matches!(events.as_slice(), [SttEvent::Final(t)] if t.text.is_empty() && t.speech_final));
    }

    #[test]
    fn speaker_labels() {
        assert_eq!(speaker_index("A"), Some(0));
        assert_eq!(speaker_index("B"), Some(1));
        assert_eq!(speaker_index("AA"), Some(26));
        assert_eq!(speaker_index("UNKNOWN"), None);
        assert_eq!(speaker_index(""), None);
    }
}
