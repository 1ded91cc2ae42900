//! Turns a [`ListenScript`] and the audio clock into the messages a session sends.
//!
//! Pure logic: the socket loop feeds it the amount of audio received and the client's control
//! messages, and sends whatever comes out, in order.

use super::messages::{self, Formatting, ModelInfo, ResultsMessage, Word};
use super::script::ListenScript;
use crate::fakes::faults::FaultSchedule;
use crate::fakes::ws::Out;

/// Audio after an utterance's last word before its final when `endpointing=false`.
const FINAL_WITHOUT_ENDPOINTING_MS: f64 = 500.0;
/// Cadence of the empty interim results Deepgram sends while nobody speaks.
const SILENCE_RESULT_EVERY_MS: f64 = 1000.0;

/// The query options that shape the messages.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) interim_results: bool,
    pub(crate) vad_events: bool,
    pub(crate) utterance_end_ms: Option<u64>,
    /// `None` for `endpointing=false`.
    pub(crate) endpointing_ms: Option<u64>,
    pub(crate) formatting: Formatting,
}

#[derive(Default)]
struct Progress {
    speech_started: bool,
    interim_upto: usize,
    finalized_upto: usize,
    final_sent: bool,
}

pub(crate) struct Timeline {
    script: ListenScript,
    options: Options,
    request_id: String,
    model: ModelInfo,
    current: usize,
    progress: Progress,
    segment_start_ms: f64,
    last_result_ms: f64,
    faults: FaultSchedule,
}

impl Timeline {
    pub(crate) fn new(mut script: ListenScript, options: Options, request_id: String, model: ModelInfo) -> Self {
        let faults = FaultSchedule::new(std::mem::take(&mut script.faults));
        Timeline {
            script,
            options,
            request_id,
            model,
            current: 0,
            progress: Progress::default(),
            segment_start_ms: 0.0,
            last_result_ms: 0.0,
            faults,
        }
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

    /// The answer to `{"type":"Finalize"}`: what was heard so far becomes final, flagged
    /// `from_finalize`; with nothing pending, an empty final with the flag.
    pub(crate) fn finalize(&mut self, audio_ms: f64) -> Vec<Out> {
        let words = self.pending_words(audio_ms);
        let message = self.result(&words, audio_ms, true, false, true);
        self.after_final(audio_ms, words.len());
        vec![message]
    }

    /// What `{"type":"CloseStream"}` flushes before `Metadata`: a final for words heard but not
    /// yet final.
    pub(crate) fn close_stream(&mut self, audio_ms: f64) -> Vec<Out> {
        let words = self.pending_words(audio_ms);
        if words.is_empty() {
            return Vec::new();
        }
        let message = self.result(&words, audio_ms, true, false, false);
        self.after_final(audio_ms, words.len());
        vec![message]
    }

    /// Heard words of the current utterance that are not final yet.
    fn pending_words(&self, audio_ms: f64) -> Vec<Word> {
        match self.script.utterances.get(self.current) {
            Some(utterance) if !self.progress.final_sent => {
                let heard = heard(utterance.words.as_slice(), audio_ms);
                utterance.words[self.progress.finalized_upto.min(heard)..heard].to_vec()
            }
            _ => Vec::new(),
        }
    }

    fn after_final(&mut self, audio_ms: f64, finalized: usize) {
        self.segment_start_ms = audio_ms;
        self.last_result_ms = audio_ms;
        let Some(utterance) = self.script.utterances.get(self.current) else {
            return;
        };
        self.progress.finalized_upto += finalized;
        self.progress.interim_upto = self.progress.finalized_upto;
        if self.progress.finalized_upto >= utterance.words.len() {
            self.progress.final_sent = true;
        }
    }

    fn result(&self, words: &[Word], at_ms: f64, is_final: bool, speech_final: bool, from_finalize: bool) -> Out {
        let message = ResultsMessage {
            start_ms: self.segment_start_ms,
            duration_ms: (at_ms - self.segment_start_ms).max(0.0),
            is_final,
            speech_final,
            from_finalize,
            words,
        };
        Out::Text(messages::results(&message, &self.options.formatting, &self.request_id, &self.model))
    }

    fn speech_until(&mut self, now: f64) -> Vec<Out> {
        let mut out = Vec::new();
        loop {
            self.silence_results_until(now, &mut out);
            let Some(utterance) = self.script.utterances.get(self.current).cloned() else {
                break;
            };
            if now < utterance.start_ms {
                break;
            }
            if !self.progress.speech_started {
                self.progress.speech_started = true;
                if self.options.vad_events {
                    out.push(Out::Text(messages::speech_started(utterance.start_ms)));
                }
            }
            let heard = heard(&utterance.words, now);
            while self.progress.interim_upto < heard {
                self.progress.interim_upto += 1;
                if self.options.interim_results {
                    let upto = self.progress.interim_upto;
                    let words = &utterance.words[self.progress.finalized_upto..upto];
                    out.push(self.result(words, utterance.words[upto - 1].end_ms, false, false, false));
                    self.last_result_ms = utterance.words[upto - 1].end_ms;
                }
            }
            let end = utterance.end_ms();
            if !self.progress.final_sent && heard == utterance.words.len() {
                let delay = self.options.endpointing_ms.map_or(FINAL_WITHOUT_ENDPOINTING_MS, |ms| ms as f64);
                if now < end + delay {
                    break;
                }
                let words = &utterance.words[self.progress.finalized_upto..];
                let speech_final = self.options.endpointing_ms.is_some();
                out.push(self.result(words, end + delay, true, speech_final, false));
                let count = words.len();
                self.after_final(end + delay, count);
                self.progress.final_sent = true;
            }
            if !self.progress.final_sent {
                break;
            }
            if let Some(gap) = self.options.utterance_end_ms {
                if now < end + gap as f64 {
                    break;
                }
                out.push(Out::Text(messages::utterance_end(end)));
            }
            self.current += 1;
            self.progress = Progress::default();
        }
        out
    }

    /// Empty interims every second of silence, up to the next utterance's first word.
    fn silence_results_until(&mut self, now: f64, out: &mut Vec<Out>) {
        if !self.options.interim_results || !self.script.silence_results {
            return;
        }
        let quiet_until = match self.script.utterances.get(self.current) {
            Some(_) if self.progress.speech_started => return,
            Some(next) => next.start_ms.min(now),
            None => now,
        };
        while self.last_result_ms + SILENCE_RESULT_EVERY_MS <= quiet_until {
            let at = self.last_result_ms + SILENCE_RESULT_EVERY_MS;
            out.push(self.result(&[], at, false, false, false));
            self.last_result_ms = at;
        }
    }
}

/// How many words have been fully spoken once `audio_ms` of audio arrived.
fn heard(words: &[Word], audio_ms: f64) -> usize {
    words.iter().take_while(|word| word.end_ms <= audio_ms).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(script: ListenScript) -> Timeline {
        let options = Options {
            interim_results: true,
            vad_events: true,
            utterance_end_ms: Some(1000),
            endpointing_ms: Some(300),
            formatting: Formatting::default(),
        };
        Timeline::new(script, options, "req".into(), ModelInfo::for_model("nova-3"))
    }

    #[test]
    fn output_depends_on_the_audio_not_on_its_framing() {
        let script =
            || ListenScript::transcript("one two three").utterance_at(4_000, "four five").close_at(7_000, 1011, "done");
        let mut framed = timeline(script());
        let mut by_frames = Vec::new();
        for step in 1..=400 {
            by_frames.extend(framed.advance(f64::from(step) * 20.0));
        }
        let mut whole = timeline(script());
        let at_once = whole.advance(8_000.0);
        assert_eq!(by_frames, at_once);
        assert_eq!(at_once.last(), Some(&Out::Close { code: 1011, reason: "done".into() }));
        let texts = at_once.iter().filter(|out| matches!(out, Out::Text(_))).count();
        // 2 SpeechStarted, 5 interims, 2 finals, 2 UtteranceEnd, silence interims in between.
        assert!(texts > 11, "{at_once:?}");
    }
}
