//! Audio messages of the length AssemblyAI accepts, and the clock that maps its times back.
//!
//! Every binary message must carry 50–1000 ms of audio: anything else closes the session with
//! 3007 ("Input duration violation"). The host's frames are shorter (20 ms), so frames are
//! gathered until they make 50 ms and sent together; a backlog is cut into messages of at most
//! a second. A flush cannot wait for more audio: what is left is padded with silence to 50 ms,
//! and the padding is remembered so the server's times (which count it) are mapped back to the
//! host's audio clock.

use voiceblox_plugin_kit::pcm::samples_to_le_bytes;

/// The shortest message AssemblyAI accepts.
pub const MIN_CHUNK_MS: u32 = 50;
/// The longest.
pub const MAX_CHUNK_MS: u32 = 1000;

#[derive(Debug)]
pub struct Chunker {
    sample_rate: u32,
    min_samples: usize,
    max_samples: usize,
    pending: Vec<i16>,
    /// Samples sent so far, padding included: the server's clock.
    sent: u64,
    /// Silence inserted by flushes: (server sample it starts at, samples), in order.
    padding: Vec<(u64, u64)>,
}

impl Chunker {
    pub fn new(sample_rate: u32) -> Self {
        let samples = |ms: u32| ((u64::from(sample_rate) * u64::from(ms) / 1000) as usize).max(1);
        Chunker {
            sample_rate: sample_rate.max(1),
            min_samples: samples(MIN_CHUNK_MS),
            max_samples: samples(MAX_CHUNK_MS),
            pending: Vec::new(),
            sent: 0,
            padding: Vec::new(),
        }
    }

    /// Adds a frame; returns the messages (little-endian PCM) now ready, in order. Under 50 ms
    /// stays behind for the next frame.
    pub fn push(&mut self, frame: &[i16]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(frame);
        let mut ready = Vec::new();
        while self.pending.len() >= self.min_samples {
            let take = self.pending.len().min(self.max_samples);
            ready.push(samples_to_le_bytes(&self.pending[..take]));
            self.pending.drain(..take);
            self.sent += take as u64;
        }
        ready
    }

    /// The audio left over, padded with silence to the 50 ms minimum, for a flush or the end of
    /// the stream: the server must hear every sample given so far.
    pub fn flush(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            return None;
        }
        let mut rest = std::mem::take(&mut self.pending);
        let real = rest.len() as u64;
        rest.resize(rest.len().max(self.min_samples), 0);
        let padded = rest.len() as u64 - real;
        if padded > 0 {
            self.padding.push((self.sent + real, padded));
        }
        self.sent += rest.len() as u64;
        Some(samples_to_le_bytes(&rest))
    }

    /// A time the server reported (ms of audio it received) as ms of the host's audio: the
    /// padding before it taken out, a time inside padding moved to where the padding starts.
    pub fn host_ms(&self, server_ms: f64) -> f64 {
        let rate = f64::from(self.sample_rate);
        let mut removed = 0.0;
        for &(start, len) in &self.padding {
            let (start, len) = (start as f64 * 1000.0 / rate, len as f64 * 1000.0 / rate);
            if server_ms <= start {
                break;
            }
            if server_ms < start + len {
                return start - removed;
            }
            removed += len;
        }
        server_ms - removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_gathered_to_fifty_ms() {
        let mut chunker = Chunker::new(16_000);
        assert!(chunker.push(&[1; 320]).is_empty(), "20 ms");
        assert!(chunker.push(&[2; 320]).is_empty(), "40 ms");
        let ready = chunker.push(&[3; 320]);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].len(), 960 * 2, "60 ms, every sample in order");
        assert_eq!(&ready[0][..2], &[1, 0]);
        assert_eq!(&ready[0][ready[0].len() - 2..], &[3, 0]);
        assert!(chunker.flush().is_none());
    }

    #[test]
    fn a_backlog_is_cut_into_seconds() {
        let mut chunker = Chunker::new(16_000);
        let ready = chunker.push(&[7; 16_000 * 2 + 500]);
        assert_eq!(ready.iter().map(Vec::len).collect::<Vec<_>>(), [32_000, 32_000], "the 500 left wait");
        assert_eq!(chunker.flush().map(|rest| rest.len()), Some(800 * 2), "padded to 50 ms");
    }

    #[test]
    fn every_message_is_within_the_limits_whatever_the_framing() {
        for frame in [1, 7, 160, 320, 799, 800, 801, 4_000, 17_000] {
            let mut chunker = Chunker::new(16_000);
            let mut total = 0;
            for _ in 0..40 {
                for message in chunker.push(&vec![1; frame]) {
                    let samples = message.len() / 2;
                    assert!((800..=16_000).contains(&samples), "frame {frame}: {samples}");
                    total += samples;
                }
            }
            let rest = chunker.flush().map_or(0, |rest| rest.len() / 2);
            assert!(rest == 0 || rest >= 800, "frame {frame}: {rest}");
            assert!(total + rest >= frame * 40, "frame {frame}: nothing lost");
        }
    }

    #[test]
    fn server_times_are_mapped_back_past_the_padding() {
        let mut chunker = Chunker::new(16_000);
        chunker.push(&[1; 960]); // 60 ms sent
        chunker.push(&[1; 320]); // 20 ms left
        assert_eq!(chunker.flush().map(|rest| rest.len() / 2), Some(800), "20 ms + 30 ms of silence");
        chunker.push(&[1; 1600]); // 100 ms more
        chunker.push(&[1; 160]);
        assert_eq!(chunker.flush().map(|rest| rest.len() / 2), Some(800), "10 ms + 40 ms of silence");
        // Server: 0–80 real, 80–110 padding, 110–220 real, 220–260 padding.
        assert_eq!(chunker.host_ms(50.0), 50.0);
        assert_eq!(chunker.host_ms(80.0), 80.0);
        assert_eq!(chunker.host_ms(95.0), 80.0, "inside the padding");
        assert_eq!(chunker.host_ms(150.0), 120.0);
        assert_eq!(chunker.host_ms(240.0), 190.0, "inside the second padding");
        assert_eq!(chunker.host_ms(300.0), 230.0);
        assert!(chunker.flush().is_none(), "nothing left, nothing padded");
    }
}
