//! Turns a [`StreamScript`] and the audio clock into the messages a session sends.
//!
//! Pure logic: the socket loop feeds it the amount of audio received and the client's control
//! messages, and sends whatever comes out, in order.

use super::messages::{self, TurnMessage};
use super::script::{Formatting, Options, StreamScript, Word};
use crate::fakes::faults::FaultSchedule;
use crate::fakes::ws::Out;

pub(crate) struct Timeline {
    script: StreamScript,
    options: Options,
    /// The utterance being heard.
    current: usize,
    speech_started: bool,
    /// Words of the current utterance already sent in a `Turn` update.
    sent: usize,
    /// The first word of the current turn (a forced endpoint splits an utterance).
    turn_start: usize,
    turn_order: u32,
    faults: FaultSchedule,
}

impl Timeline {
    pub(crate) fn new(mut script: StreamScript, options: Options) -> Self {
        let faults = FaultSchedule::new(std::mem::take(&mut script.faults));
        Timeline { script, options, current: 0, speech_started: false, sent: 0, turn_start: 0, turn_order: 0, faults }
    }

    /// Everything due once `audio_ms` of audio has been received. A scripted fault cuts the
    /// output short: nothing scheduled after it is produced.
    pub(crate) fn advance(&mut self, audio_ms: f64) -> Vec<Out> {
        let Some((until, fault)) = self.faults.due(audio_ms) else {
            return Vec::new();
        };
        let mut out = self.speech_until(until);
        out.extend(fault);
        out
    }

    /// The answer to `{"type":"ForceEndpoint"}`: the words heard so far end the turn now; the
    /// rest of the utterance, if any, becomes the next turn. With nothing heard, nothing.
    pub(crate) fn force_endpoint(&mut self, audio_ms: f64) -> Vec<Out> {
        if self.faults.ended() {
            return Vec::new();
        }
        let Some(utterance) = self.script.utterances.get(self.current).cloned() else {
            return Vec::new();
        };
        let heard = heard(&utterance.words, audio_ms);
        if heard <= self.turn_start {
            return Vec::new();
        }
        let out = self.end_turn(&utterance.words[self.turn_start..heard]);
        self.turn_start = heard;
        self.sent = heard;
        if heard == utterance.words.len() {
            self.next_utterance();
        }
        out
    }

    /// What `{"type":"Terminate"}` flushes before `Termination`: the current turn's heard words.
    pub(crate) fn terminate(&mut self, audio_ms: f64) -> Vec<Out> {
        self.force_endpoint(audio_ms)
    }

    fn speech_until(&mut self, now: f64) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(utterance) = self.script.utterances.get(self.current).cloned() {
            if now < utterance.start_ms() {
                break;
            }
            if !self.speech_started {
                self.speech_started = true;
                out.push(Out::Text(messages::speech_started(utterance.start_ms())));
            }
            let heard = heard(&utterance.words, now);
            while self.sent < heard {
                self.sent += 1;
                let words = &utterance.words[self.turn_start..self.sent];
                out.push(self.partial(words));
            }
            let Some(last) = utterance.words.last() else {
                self.next_utterance();
                continue;
            };
            if heard < utterance.words.len() || now < last.end_ms + self.options.min_turn_silence_ms {
                break;
            }
            out.extend(self.end_turn(&utterance.words[self.turn_start..]));
            self.next_utterance();
        }
        out
    }

    fn next_utterance(&mut self) {
        self.current += 1;
        self.speech_started = false;
        self.sent = 0;
        self.turn_start = 0;
    }

    fn partial(&self, words: &[Word]) -> Out {
        let formatted = self.options.format_turns && self.script.formatting == Formatting::InModel;
        // Low while words keep coming, as AssemblyAI's end-of-turn model reports it.
        let confidence = 0.001 * words.len() as f64;
        Out::Text(messages::turn(&TurnMessage {
            turn_order: self.turn_order,
            formatted,
            end_of_turn: false,
            words,
            pending: 1,
            end_of_turn_confidence: confidence,
            language: None,
        }))
    }

    /// The `end_of_turn` message(s) of a turn made of `words`.
    fn end_turn(&mut self, words: &[Word]) -> Vec<Out> {
        let language = self.options.language_detection.then_some(self.script.language.as_str());
        let message = |formatted: bool| {
            Out::Text(messages::turn(&TurnMessage {
                turn_order: self.turn_order,
                formatted,
                end_of_turn: true,
                words,
                pending: 0,
                end_of_turn_confidence: 0.81,
                language,
            }))
        };
        let out = match (self.options.format_turns, self.script.formatting) {
            (true, Formatting::TrailingCopy) => vec![message(false), message(true)],
            (formatted, _) => vec![message(formatted)],
        };
        self.turn_order += 1;
        out
    }
}

/// How many words have been fully spoken once `audio_ms` of audio arrived.
fn heard(words: &[Word], audio_ms: f64) -> usize {
    words.iter().take_while(|word| word.end_ms <= audio_ms).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn timeline(script: StreamScript, format_turns: bool) -> Timeline {
        Timeline::new(script, Options { format_turns, ..Options::default() })
    }

    fn json(out: &[Out]) -> Vec<Value> {
        out.iter().filter_map(|o| if let Out::Text(t) = o { serde_json::from_str(t).ok() } else { None }).collect()
    }

    #[test]
    fn output_depends_on_the_audio_not_on_its_framing() {
        let script =
            || StreamScript::transcript("one two three").utterance_at(4_000, "four five").close_at(7_000, 3005, "x");
        let mut framed = timeline(script(), true);
        let mut by_frames = Vec::new();
        for step in 1..=160 {
            by_frames.extend(framed.advance(f64::from(step) * 50.0));
        }
        let mut whole = timeline(script(), true);
        let at_once = whole.advance(8_000.0);
        assert_eq!(by_frames, at_once);
        assert_eq!(at_once.last(), Some(&Out::Close { code: 3005, reason: "x".into() }));
        // 2 SpeechStarted, 5 partials, 2 ends of turn.
        assert_eq!(json(&at_once).len(), 9);
    }

    #[test]
    fn a_turn_grows_word_by_word_then_ends_after_the_silence() {
        let mut timeline = timeline(StreamScript::transcript("Hello there."), false);
        let out = json(&timeline.advance(800.0));
        assert_eq!(out[0]["type"], "SpeechStarted");
        assert_eq!(out[0]["timestamp"], 300);
        assert_eq!(out[1]["transcript"], "", "the newest word is not final yet");
        assert_eq!(out[1]["words"][0]["text"], "hello");
        assert_eq!(out[2]["transcript"], "hello");
        assert_eq!(out[2]["words"][1]["word_is_final"], false);
        assert_eq!(out.len(), 3, "the turn waits for 400 ms of silence");
        let end = json(&timeline.advance(1_200.0));
        assert_eq!(end.len(), 1);
        assert_eq!((&end[0]["end_of_turn"], &end[0]["transcript"]), (&Value::Bool(true), &Value::from("hello there")));
        assert_eq!(end[0]["words"][1]["end"], 800);
    }

    #[test]
    fn formatting_in_the_model_or_as_a_trailing_copy() {
        let mut in_model = timeline(StreamScript::transcript("Hi, Sonny."), true);
        let out = json(&in_model.advance(2_000.0));
        assert!(out[1..].iter().all(|m| m["turn_is_formatted"] == true));
        assert_eq!(out.last().unwrap()["transcript"], "Hi, Sonny.");
        assert_eq!(out.iter().filter(|m| m["end_of_turn"] == true).count(), 1);

        let mut trailing = timeline(StreamScript::transcript("Hi, Sonny.").formatting(Formatting::TrailingCopy), true);
        let out = json(&trailing.advance(2_000.0));
        let ends: Vec<(&Value, &Value)> = out
            .iter()
            .filter(|m| m["end_of_turn"] == true)
            .map(|m| (&m["turn_is_formatted"], &m["transcript"]))
            .collect();
        assert_eq!(
            ends,
            [(&Value::Bool(false), &Value::from("hi sonny")), (&Value::Bool(true), &Value::from("Hi, Sonny."))]
        );
    }

    #[test]
    fn force_endpoint_ends_the_turn_at_once_and_the_rest_is_the_next_turn() {
        let mut timeline = timeline(StreamScript::transcript("one two three"), false);
        timeline.advance(800.0);
        let forced = json(&timeline.force_endpoint(800.0));
        assert_eq!((&forced[0]["turn_order"], &forced[0]["transcript"]), (&Value::from(0), &Value::from("one two")));
        let rest = json(&timeline.advance(1_500.0));
        assert_eq!(rest.last().unwrap()["turn_order"], 1);
        assert_eq!(rest.last().unwrap()["transcript"], "three");
        assert!(timeline.force_endpoint(1_500.0).is_empty(), "nothing heard, nothing sent");
    }
}
