//! A streaming STT on virtual time, timed by the audio it receives like a real one: each word
//! of a scripted utterance is heard once the audio has reached its end (an interim with the
//! words so far), and the utterance is finalised on a flush or after the provider's own
//! endpointing silence (then marked `speech_final` and followed by `SpeechEnded`).

use std::time::{Duration, Instant};

use voiceblox_host::plugin::types::Transcript;
use voiceblox_host::providers::SttChunk;
use voiceblox_host::voice::machine::{Input, SttAction};

use super::pending::Pending;

#[derive(Debug, Clone)]
pub struct SttScript {
    /// Each word takes this long in the audio.
    pub word_ms: u64,
    /// From the audio (or flush) that completes a word to its transcript.
    pub latency: Duration,
    /// The provider finalises on its own after this much audio past the last word.
    pub endpointing_ms: u64,
    /// Opens that fail before one succeeds.
    pub failing_opens: u32,
    /// Each open stream fails once it has received this much audio.
    pub fail_after_ms: Option<u64>,
    /// (start in ms of the stream's audio, words)
    pub utterances: Vec<(u64, Vec<String>)>,
}

impl Default for SttScript {
    fn default() -> Self {
        Self {
            word_ms: 300,
            latency: Duration::from_millis(150),
            endpointing_ms: 300,
            failing_opens: 0,
            fail_after_ms: None,
            utterances: Vec::new(),
        }
    }
}

impl SttScript {
    /// Hears `text` with its first word starting at `start_ms` of the stream's audio.
    pub fn utterance_at(mut self, start_ms: u64, text: &str) -> Self {
        self.utterances.push((start_ms, text.split_whitespace().map(String::from).collect()));
        self
    }

    pub fn word_ms(mut self, word_ms: u64) -> Self {
        self.word_ms = word_ms;
        self
    }
}

#[derive(Debug, Default)]
struct Heard {
    words: usize,
    finalised: bool,
}

pub struct SimStt {
    script: SttScript,
    pending: Pending,
    open: bool,
    /// Milliseconds of audio this stream has received.
    audio_ms: f64,
    heard: Vec<Heard>,
    /// Streams opened (each attempt).
    pub opens: u32,
    /// Samples received over all streams.
    pub samples: usize,
    /// Each piece of audio received: when, and how many samples.
    pub received: Vec<(Instant, usize)>,
    pub flushes: u32,
}

impl SimStt {
    pub fn new(script: SttScript) -> Self {
        let heard = script.utterances.iter().map(|_| Heard::default()).collect();
        Self {
            script,
            pending: Pending::default(),
            open: false,
            audio_ms: 0.0,
            heard,
            opens: 0,
            samples: 0,
            received: Vec::new(),
            flushes: 0,
        }
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.pending.next_at()
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<Input> {
        let input = self.pending.pop_due(now)?;
        if matches!(input, Input::SttFailed(_)) {
            self.open = false;
        }
        Some(input)
    }

    pub fn handle(&mut self, action: SttAction, now: Instant) {
        match action {
            SttAction::Open => {
                self.opens += 1;
                self.pending.clear();
                self.audio_ms = 0.0;
                if self.script.failing_opens > 0 {
                    self.script.failing_opens -= 1;
                    self.pending.push(now, Input::SttFailed("connection refused".into()));
                } else {
                    self.open = true;
                    self.pending.push(now, Input::SttOpened);
                }
            }
            SttAction::Audio(samples) if self.open => {
                self.samples += samples.len();
                self.received.push((now, samples.len()));
                self.audio_ms += samples.len() as f64 / 16.0;
                if self.script.fail_after_ms.is_some_and(|ms| self.audio_ms >= ms as f64) {
                    self.open = false;
                    self.pending.push(now, Input::SttFailed("stream reset".into()));
                    return;
                }
                self.hear(now);
            }
            SttAction::Flush if self.open => {
                self.flushes += 1;
                for index in 0..self.heard.len() {
                    if self.heard[index].words > 0 && !self.heard[index].finalised {
                        self.finalise(index, now, false);
                    }
                }
            }
            SttAction::Audio(_) | SttAction::Flush => {}
        }
    }

    fn hear(&mut self, now: Instant) {
        let at = now + self.script.latency;
        for index in 0..self.heard.len() {
            let (start, words) = &self.script.utterances[index];
            if self.heard[index].finalised {
                continue;
            }
            let spoken = ((self.audio_ms - *start as f64) / self.script.word_ms as f64).floor().max(0.0) as usize;
            let spoken = spoken.min(words.len());
            if spoken > self.heard[index].words {
                self.heard[index].words = spoken;
                let text = words[..spoken].join(" ");
                self.pending.push(at, Input::Stt(SttChunk::Interim(transcript(&text, false))));
            }
            let end = *start as f64 + (words.len() as u64 * self.script.word_ms + self.script.endpointing_ms) as f64;
            if spoken == words.len() && self.audio_ms >= end {
                self.finalise(index, now, true);
            }
        }
    }

    /// `endpointed`: by the provider's own endpointing (marked `speech_final`, then its
    /// end-of-utterance event), not by a flush.
    fn finalise(&mut self, index: usize, now: Instant, endpointed: bool) {
        let heard = &mut self.heard[index];
        heard.finalised = true;
        let text = self.script.utterances[index].1[..heard.words].join(" ");
        let at = now + self.script.latency;
        self.pending.push(at, Input::Stt(SttChunk::Final(transcript(&text, endpointed))));
        if endpointed {
            self.pending.push(at, Input::Stt(SttChunk::SpeechEnded));
        }
    }
}

fn transcript(text: &str, speech_final: bool) -> Transcript {
    Transcript {
        text: text.into(),
        words: Vec::new(),
        confidence: 0.99,
        language: None,
        start_ms: 0,
        end_ms: 0,
        speech_final,
    }
}
