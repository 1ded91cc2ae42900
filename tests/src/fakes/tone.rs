//! The synthetic "speech" both text-to-speech fakes stream: a sine tone whose length follows
//! the text, cut into deliberately awkward chunks.

use std::time::Duration;

use bytes::Bytes;

use super::wire::{Piece, chunked, paced};
use crate::audio::sine_s16le;

#[derive(Clone, Copy, Debug)]
pub(crate) enum AudioOutcome {
    Complete,
    HangAfter(usize),
    CutAfter(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct ToneStream {
    pub(crate) ms_per_char: u64,
    pub(crate) frequency: f64,
    pub(crate) chunk_bytes: usize,
    pub(crate) chunk_delay: Duration,
    pub(crate) outcome: AudioOutcome,
}

impl Default for ToneStream {
    fn default() -> Self {
        ToneStream {
            ms_per_char: 40,
            frequency: 440.0,
            // Odd, so chunk boundaries split samples: clients must carry the odd byte over.
            chunk_bytes: 4801,
            chunk_delay: Duration::from_millis(5),
            outcome: AudioOutcome::Complete,
        }
    }
}

impl ToneStream {
    pub(crate) fn pcm_for(&self, text: &str, sample_rate: u32) -> Vec<u8> {
        let duration_ms = self.ms_per_char * text.chars().count() as u64;
        sine_s16le(self.frequency, sample_rate, duration_ms)
    }

    pub(crate) fn pieces(&self, text: &str, sample_rate: u32) -> Vec<Piece> {
        let chunks: Vec<Bytes> = chunked(&self.pcm_for(text, sample_rate), self.chunk_bytes);
        let (chunks, tail) = match self.outcome {
            AudioOutcome::Complete => (chunks, None),
            AudioOutcome::HangAfter(n) => (chunks.into_iter().take(n).collect(), Some(Piece::Hang)),
            AudioOutcome::CutAfter(n) => (chunks.into_iter().take(n).collect(), Some(Piece::Cut)),
        };
        let mut pieces = paced(chunks, self.chunk_delay);
        pieces.extend(tail);
        pieces
    }
}
