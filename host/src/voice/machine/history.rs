//! The user's recent audio, for the end-of-turn model: a fixed ring of the last 8 s at
//! 16 kHz, filled frame by frame without allocating.

use std::collections::VecDeque;

use crate::audio::VAD_SAMPLE_RATE;

/// What the model hears: Smart Turn looks at the last 8 s.
const SECONDS: usize = 8;

#[derive(Debug)]
pub struct AudioHistory {
    samples: VecDeque<i16>,
}

impl Default for AudioHistory {
    fn default() -> Self {
        Self { samples: VecDeque::with_capacity(SECONDS * VAD_SAMPLE_RATE as usize) }
    }
}

impl AudioHistory {
    pub fn push(&mut self, frame: &[i16]) {
        let capacity = SECONDS * VAD_SAMPLE_RATE as usize;
        let overflow = (self.samples.len() + frame.len()).saturating_sub(capacity);
        self.samples.drain(..overflow.min(self.samples.len()));
        let frame = &frame[frame.len().saturating_sub(capacity)..];
        self.samples.extend(frame);
    }

    /// A copy of the audio held, oldest first (once per end of speech).
    pub fn to_vec(&self) -> Vec<i16> {
        self.samples.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_keeps_the_last_eight_seconds() {
        let mut history = AudioHistory::default();
        for second in 0..10i16 {
            for _ in 0..50 {
                history.push(&[second; 320]);
            }
        }
        let held = history.to_vec();
        assert_eq!(held.len(), 8 * 16_000);
        assert_eq!((held[0], held[held.len() - 1]), (2, 9));
    }
}
