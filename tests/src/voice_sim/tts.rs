//! A TTS on virtual time: each sentence becomes a tone of `ms_per_char` per character, sent
//! after the time to first byte in 100 ms chunks faster than real time, then `Flushed`.
//! Sentences are synthesised one after another; closing the stream drops what is left.

use std::time::{Duration, Instant};

use voiceblox_host::audio::AudioFrame;
use voiceblox_host::providers::TtsChunk;
use voiceblox_host::voice::machine::{Input, TtsAction};

use super::pending::Pending;
use crate::audio::sine_samples;

#[derive(Debug, Clone)]
pub struct TtsScript {
    pub ms_per_char: u64,
    pub sample_rate: u32,
    /// From a sentence to its first audio.
    pub ttfb: Duration,
    /// Between chunks of 100 ms of audio.
    pub chunk_gap: Duration,
    /// Opens that fail, by number (0-based).
    pub failing_opens: Vec<u32>,
}

impl Default for TtsScript {
    fn default() -> Self {
        Self {
            ms_per_char: 40,
            sample_rate: 24_000,
            ttfb: Duration::from_millis(120),
            chunk_gap: Duration::from_millis(10),
            failing_opens: Vec::new(),
        }
    }
}

pub struct SimTts {
    script: TtsScript,
    pending: Pending,
    open: bool,
    /// When the stream is free to synthesise the next sentence.
    free_at: Option<Instant>,
    pub opens: u32,
    pub closes: u32,
}

impl SimTts {
    pub fn new(script: TtsScript) -> Self {
        Self { script, pending: Pending::default(), open: false, free_at: None, opens: 0, closes: 0 }
    }

    /// Milliseconds of audio a sentence gets.
    pub fn audio_ms(&self, sentence: &str) -> u64 {
        sentence.len() as u64 * self.script.ms_per_char
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.pending.next_at()
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<Input> {
        self.pending.pop_due(now)
    }

    pub fn handle(&mut self, action: &TtsAction, now: Instant) {
        match action {
            TtsAction::Open => {
                let number = self.opens;
                self.opens += 1;
                self.pending.clear();
                self.free_at = None;
                if self.script.failing_opens.contains(&number) {
                    self.open = false;
                    self.pending.push(now, Input::TtsFailed("HTTP 500 from the TTS".into()));
                } else {
                    self.open = true;
                }
            }
            TtsAction::Say(text) if self.open => {
                let mut at = self.free_at.unwrap_or(now).max(now) + self.script.ttfb;
                let samples = sine_samples(220.0, self.script.sample_rate, self.audio_ms(text));
                for chunk in samples.chunks(self.script.sample_rate as usize / 10) {
                    let frame = AudioFrame::new(chunk.to_vec(), self.script.sample_rate, 1).expect("frame");
                    self.pending.push(at, Input::Tts(TtsChunk::Audio(frame)));
                    at += self.script.chunk_gap;
                }
                self.pending.push(at, Input::Tts(TtsChunk::Flushed));
                self.free_at = Some(at);
            }
            TtsAction::End if self.open => {
                let at = self.free_at.unwrap_or(now).max(now);
                self.pending.push(at, Input::TtsEnded);
                self.open = false;
            }
            TtsAction::Close => {
                self.closes += 1;
                self.pending.clear();
                self.open = false;
                self.free_at = None;
            }
            TtsAction::Say(_) | TtsAction::End => {}
        }
    }
}
