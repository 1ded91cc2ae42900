//! A remote microphone as 20 ms PCM frames, sans-I/O: Opus packets in any order → jitter
//! buffer → decoder (with concealment and FEC recovery) → 48 kHz mono frames.
//!
//! Once the first packet has arrived, a frame comes out every 20 ms: the audio, concealment
//! for a lost packet, or silence while the sender pauses (DTX, mute) — on one grid, so the
//! voice loop hears a steady stream and its VAD sees speech end.

use std::time::{Duration, Instant};

use super::jitter::{FRAME, JitterBuffer, JitterConfig, JitterStats, Payload, Slot};
use super::opus::{FRAME_SAMPLES, OPUS_RATE, OpusDecoder, OpusError};
use super::{AudioFrame, FramePool, losses};

/// A late caller catches up on at most this much missed silence, then skips ahead.
pub const MAX_CATCH_UP: Duration = Duration::from_millis(200);

pub struct IncomingVoice {
    jitter: JitterBuffer,
    decoder: OpusDecoder,
    /// When the next frame is due while the jitter buffer waits (silence); `None` until the
    /// first packet.
    clock: Option<Instant>,
    undecodable: u64,
    frames: u64,
    /// The frames' buffers, back from the voice loop once it is done with them.
    pool: FramePool,
}

impl IncomingVoice {
    pub fn new() -> Result<Self, OpusError> {
        Ok(Self {
            jitter: JitterBuffer::new(JitterConfig::default()),
            decoder: OpusDecoder::new()?,
            clock: None,
            undecodable: 0,
            frames: 0,
            pool: FramePool::new(),
        })
    }

    /// One packet as it arrived; `seq` is its RTP sequence number (extended or not: the jitter
    /// buffer extends the low 16 bits itself).
    pub fn push(&mut self, seq: u64, payload: Payload, now: Instant) {
        self.jitter.push(seq as u16, payload, now);
        self.clock.get_or_insert(now);
    }

    /// The frames due by `now`, each handed to `emit`.
    pub fn poll(&mut self, now: Instant, mut emit: impl FnMut(AudioFrame)) {
        loop {
            if let Some(due) = self.jitter.next_timeout().filter(|due| *due <= now) {
                let Some(slot) = self.jitter.poll(due) else { continue };
                self.clock = Some(due + FRAME);
                let decoded = match &slot {
                    Slot::Packet(packet) => self.decoder.decode(packet),
                    Slot::Lost { next: Some(next) } => self.decoder.recover(next),
                    Slot::Lost { next: None } => self.decoder.conceal(),
                };
                let frame = match decoded {
                    Ok(samples) => self.pool.frame(samples, OPUS_RATE, 1),
                    Err(error) => {
                        if losses::count(&mut self.undecodable) {
                            tracing::warn!(%error, count = self.undecodable, "undecodable Opus packet");
                        }
                        self.pool.silence(FRAME_SAMPLES, OPUS_RATE, 1)
                    }
                };
                self.emit(frame, &mut emit);
                continue;
            }
            // The sender paused: silence on the same 20 ms grid until its audio plays again
            // (after the jitter buffer's delay when it resumes).
            let jitter = &self.jitter;
            let silent = |at: Instant| jitter.next_timeout().is_none_or(|due| due >= at + FRAME);
            match self.clock {
                Some(at) if at <= now && silent(at) => {
                    let at = if now.saturating_duration_since(at) > MAX_CATCH_UP { now } else { at };
                    self.clock = Some(at + FRAME);
                    let frame = self.pool.silence(FRAME_SAMPLES, OPUS_RATE, 1);
                    self.emit(frame, &mut emit);
                }
                _ => return,
            }
        }
    }

    fn emit(&mut self, frame: Option<AudioFrame>, emit: &mut impl FnMut(AudioFrame)) {
        self.frames += 1;
        if let Some(frame) = frame {
            emit(frame);
        }
    }

    /// When the next frame is due (`None` before the first packet).
    pub fn deadline(&self) -> Option<Instant> {
        match (self.jitter.next_timeout(), self.clock) {
            (Some(due), Some(at)) => Some(due.min(at)),
            (due, at) => due.or(at),
        }
    }

    pub fn jitter_stats(&self) -> &JitterStats {
        self.jitter.stats()
    }

    /// Packets the decoder refused (each replaced by a silent frame).
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    /// Frames emitted.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}
