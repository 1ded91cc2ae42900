//! Sample buffers that come back: a transport makes a frame every 20 ms for as long as a call
//! lasts, and the voice loop drops each one a moment later. A [`FramePool`] hands the dropped
//! buffers back out, so a call in steady state allocates nothing per frame.

use std::sync::{Arc, Mutex, PoisonError};

use super::AudioFrame;

/// Buffers kept for reuse: the frames one call can have in flight (the microphone queue plus
/// the one being worked on) with room to spare. Beyond it, dropped buffers are freed.
const KEPT: usize = 32;

/// Where a pooled [`AudioFrame`]'s buffer goes when the frame is dropped. Cloning shares it.
#[derive(Clone, Default)]
pub struct FramePool {
    free: Arc<Mutex<Vec<Vec<i16>>>>,
}

impl std::fmt::Debug for FramePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramePool").field("free", &self.lock().len()).finish()
    }
}

impl FramePool {
    pub fn new() -> Self {
        Self { free: Arc::new(Mutex::new(Vec::with_capacity(KEPT))) }
    }

    /// A frame of the samples `fill` writes into an empty buffer (a reused one when one is
    /// free); `None` when they are not whole frames of `channels` at a non-zero rate.
    pub fn make(&self, sample_rate: u32, channels: u16, fill: impl FnOnce(&mut Vec<i16>)) -> Option<AudioFrame> {
        let mut buffer = self.lock().pop().unwrap_or_default();
        buffer.clear();
        fill(&mut buffer);
        AudioFrame::new(buffer, sample_rate, channels).ok().map(|frame| frame.returning_to(self.clone()))
    }

    /// A frame holding a copy of `samples`.
    pub fn frame(&self, samples: &[i16], sample_rate: u32, channels: u16) -> Option<AudioFrame> {
        self.make(sample_rate, channels, |buffer| buffer.extend_from_slice(samples))
    }

    /// A frame of `len` zero samples.
    pub fn silence(&self, len: usize, sample_rate: u32, channels: u16) -> Option<AudioFrame> {
        self.make(sample_rate, channels, |buffer| buffer.resize(len, 0))
    }

    /// Takes a dropped frame's buffer back (or frees it when enough are kept).
    pub(super) fn give_back(&self, buffer: Vec<i16>) {
        let mut free = self.lock();
        if free.len() < KEPT {
            free.push(buffer);
        }
    }

    /// Buffers waiting to be reused.
    pub fn free(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<i16>>> {
        // A buffer list stays valid whatever panicked while it was held.
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_frame_gives_its_buffer_to_the_next() {
        let pool = FramePool::new();
        let first = pool.frame(&[1, 2, 3], 48_000, 1).unwrap();
        let address = first.samples().as_ptr();
        assert_eq!(pool.free(), 0);
        drop(first);
        assert_eq!(pool.free(), 1);
        let second = pool.silence(3, 48_000, 1).unwrap();
        assert_eq!(second.samples(), &[0, 0, 0]);
        assert_eq!(second.samples().as_ptr(), address, "the same buffer");
        // A clone is the caller's own: it does not go back.
        let copy = second.clone();
        drop(second);
        drop(copy);
        assert_eq!(pool.free(), 1);
        // Samples taken out of a frame are the caller's too.
        let taken = pool.frame(&[4, 5], 16_000, 1).unwrap().into_samples();
        assert_eq!(taken, [4, 5]);
        assert_eq!(pool.free(), 0);
    }

    #[test]
    fn only_so_many_buffers_are_kept_and_bad_shapes_are_refused() {
        let pool = FramePool::new();
        let frames: Vec<AudioFrame> = (0..KEPT + 5).filter_map(|_| pool.silence(960, 48_000, 1)).collect();
        drop(frames);
        assert_eq!(pool.free(), KEPT);
        assert!(pool.frame(&[1, 2, 3], 48_000, 2).is_none(), "3 samples are not whole stereo frames");
        assert!(pool.silence(4, 0, 1).is_none());
    }
}
