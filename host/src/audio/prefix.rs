//! The last moments of microphone audio, kept so that speech detected late (VAD confirms an
//! onset after `min_speech`) still reaches a batch STT from its real start.

use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug)]
pub struct PrefixBuffer {
    sample_rate: u32,
    capacity: usize,
    samples: VecDeque<i16>,
    /// Stream time just after the newest sample.
    end: Duration,
}

impl PrefixBuffer {
    /// Keeps `keep` of mono audio at `sample_rate`.
    pub fn new(sample_rate: u32, keep: Duration) -> Self {
        let capacity = (keep.as_secs_f64() * f64::from(sample_rate)).ceil() as usize;
        Self { sample_rate, capacity, samples: VecDeque::with_capacity(capacity), end: Duration::ZERO }
    }

    /// Appends audio whose first sample is at stream time `start`.
    pub fn push(&mut self, samples: &[i16], start: Duration) {
        self.samples.extend(samples);
        let excess = self.samples.len().saturating_sub(self.capacity);
        self.samples.drain(..excess);
        self.end = start + Duration::from_secs_f64(samples.len() as f64 / f64::from(self.sample_rate));
    }

    /// The buffered audio from stream time `from` on (all of it when `from` is older).
    pub fn since(&self, from: Duration) -> Vec<i16> {
        let back = self.end.saturating_sub(from).as_secs_f64() * f64::from(self.sample_rate);
        let n = (back.round() as usize).min(self.samples.len());
        self.samples.iter().skip(self.samples.len() - n).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_padding_and_returns_audio_from_a_time() {
        let mut buffer = PrefixBuffer::new(1000, Duration::from_millis(5));
        buffer.push(&[1, 2, 3, 4], Duration::ZERO);
        buffer.push(&[5, 6, 7, 8], Duration::from_millis(4));
        assert_eq!(buffer.since(Duration::ZERO), [4, 5, 6, 7, 8], "only 5 ms kept");
        assert_eq!(buffer.since(Duration::from_millis(6)), [7, 8]);
        assert!(buffer.since(Duration::from_millis(9)).is_empty());
    }
}
