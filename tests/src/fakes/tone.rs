//! The synthetic "speech" the text-to-speech fakes stream: a sine tone whose length follows the
//! text, cut into deliberately awkward chunks, and the script type each HTTP endpoint answers
//! with ([`tone_script!`]); sockets share the builders that shape their tone
//! ([`socket_tone_builders!`]).

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

/// Defines a text-to-speech script type, `$script`: a scripted [`Answer`](super::answer::Answer)
/// with the shared [`answer_builders!`](super::answer::answer_builders) methods, and a
/// [`ToneStream`] with the builders that shape it. The provider adds its own `pcm_for`, whose
/// arguments differ (OpenAI has one rate, Deepgram takes it from the query).
macro_rules! tone_script {
    ($(#[$meta:meta])* $script:ident { error_body: $error_body:expr, provider: $provider:literal $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $script {
            pub(super) answer: $crate::fakes::answer::Answer,
            pub(super) tone: $crate::fakes::tone::ToneStream,
        }

        impl Default for $script {
            fn default() -> Self {
                $script::tone()
            }
        }

        $crate::fakes::answer::answer_builders!($script {
            base: $script::tone(),
            error_body: $error_body,
            provider: $provider,
        });

        impl $script {
            /// A deterministic tone whose length is proportional to the input text (40 ms per
            /// character, 440 Hz), sent in 4801-byte chunks so boundaries fall mid-sample.
            pub fn tone() -> Self {
                $script { answer: Default::default(), tone: Default::default() }
            }

            /// Audio per character of text (default 40 ms).
            pub fn ms_per_char(mut self, ms: u64) -> Self {
                self.tone.ms_per_char = ms;
                self
            }

            /// The tone's pitch (default 440 Hz).
            pub fn frequency(mut self, hz: f64) -> Self {
                self.tone.frequency = hz;
                self
            }

            /// Bytes per HTTP chunk (default 4801; odd on purpose).
            pub fn chunk_bytes(mut self, bytes: usize) -> Self {
                self.tone.chunk_bytes = bytes.max(1);
                self
            }

            /// Pause between chunks (default 5 ms).
            pub fn chunk_delay(mut self, delay: ::std::time::Duration) -> Self {
                self.tone.chunk_delay = delay;
                self
            }

            /// Send the head, then nothing, holding the connection open.
            pub fn hang(self) -> Self {
                self.hang_after(0)
            }

            /// Send `chunks` chunks of audio, then hold the connection open without finishing.
            pub fn hang_after(mut self, chunks: usize) -> Self {
                self.tone.outcome = $crate::fakes::tone::AudioOutcome::HangAfter(chunks);
                self
            }

            /// Send `chunks` chunks, then abort the connection.
            pub fn cut_after(mut self, chunks: usize) -> Self {
                self.tone.outcome = $crate::fakes::tone::AudioOutcome::CutAfter(chunks);
                self
            }
        }
    };
}

pub(crate) use tone_script;

/// Implements the tone builders every text-to-speech socket script shares on `$script`, a type
/// with a `tone: ToneStream` field and a `chunk_bytes: usize` field (PCM bytes per audio message,
/// whole samples: the providers never split one).
macro_rules! socket_tone_builders {
    ($script:ident) => {
        impl $script {
            /// Audio per character of text (default 40 ms).
            pub fn ms_per_char(mut self, ms: u64) -> Self {
                self.tone.ms_per_char = ms;
                self
            }

            /// Pause between audio messages (default 5 ms).
            pub fn chunk_delay(mut self, delay: ::std::time::Duration) -> Self {
                self.tone.chunk_delay = delay;
                self
            }

            /// PCM bytes per audio message (rounded down to whole samples, default 4800).
            pub fn chunk_bytes(mut self, bytes: usize) -> Self {
                self.chunk_bytes = (bytes / 2 * 2).max(2);
                self
            }

            /// The exact PCM a generation of `text` carries at `sample_rate`.
            pub fn pcm_for(&self, text: &str, sample_rate: u32) -> Vec<u8> {
                self.tone.pcm_for(text.trim(), sample_rate)
            }
        }
    };
}

pub(crate) use socket_tone_builders;
