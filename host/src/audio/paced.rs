//! The agent's voice as a track, sans-I/O: each 20 ms frame of speech is encoded and written
//! at once (the voice loop's clock paces it: no bursts); after the speech stops, silent
//! packets on the same grid until the encoder goes over to DTX, then nothing is sent or
//! scheduled until the agent speaks again (see [`OutgoingVoice`]).
//!
//! Writing is the caller's (a WebRTC track); a failed write or encode loses one packet
//! (counted, logged), never the session.

use std::time::{Duration, Instant};

use super::incoming::MAX_CATCH_UP;
use super::jitter::FRAME;
use super::opus::{FRAME_SAMPLES, OPUS_RATE, OpusError};
use super::outgoing::{OutgoingPacket, OutgoingVoice};
use super::{AudioFrame, losses};

/// After the agent's last frame of speech, how long before silent packets fill in: one frame
/// of slack, so a voice loop a little late never gets silence spliced into its speech.
const SPEECH_GAP: Duration = Duration::from_millis(40);

/// What a paced track counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendStats {
    pub packets: u64,
    /// Packets lost to an encoder or transport error (logged; the session goes on).
    pub failures: u64,
    /// Frames refused because they were not 20 ms of 48 kHz mono.
    pub refused: u64,
}

pub struct PacedVoice {
    voice: OutgoingVoice,
    /// When the next silent packet goes out.
    next_silence: Option<Instant>,
    stats: SendStats,
}

impl PacedVoice {
    /// Starts the RTP clock at `media_time` (its low 32 bits random, as RTP asks).
    pub fn new(media_time: u64) -> Result<Self, OpusError> {
        Ok(Self { voice: OutgoingVoice::new(media_time)?, next_silence: None, stats: SendStats::default() })
    }

    /// The agent's next 20 ms of speech, encoded and handed to `write` at once.
    pub fn speech<E: std::fmt::Display>(
        &mut self,
        frame: &AudioFrame,
        now: Instant,
        write: impl FnMut(OutgoingPacket<'_>) -> Result<(), E>,
    ) {
        if frame.sample_rate() != OPUS_RATE || frame.channels() != 1 || frame.samples().len() != FRAME_SAMPLES {
            if losses::count(&mut self.stats.refused) {
                tracing::warn!(
                    rate = frame.sample_rate(),
                    samples = frame.samples().len(),
                    "agent audio frame is not 20 ms of 48 kHz mono; dropped"
                );
            }
            return;
        }
        self.next_silence = Some(now + SPEECH_GAP);
        self.tick(now, Some(frame.samples()), write);
    }

    /// Silent packets due by `now` while the track `can_send`, until the encoder pauses in
    /// DTX (then nothing is scheduled until the agent speaks again).
    pub fn poll<E: std::fmt::Display>(
        &mut self,
        now: Instant,
        can_send: bool,
        mut write: impl FnMut(OutgoingPacket<'_>) -> Result<(), E>,
    ) {
        if !can_send || self.voice.is_paused() {
            return;
        }
        let mut at = *self.next_silence.get_or_insert(now);
        if now.saturating_duration_since(at) > MAX_CATCH_UP {
            at = now;
        }
        while at <= now && self.tick(at, None, &mut write) {
            at += FRAME;
        }
        self.next_silence = (!self.voice.is_paused()).then_some(at);
    }

    /// When the next silent packet is due (`None`: paused, or nothing spoken yet and not polled).
    pub fn deadline(&self) -> Option<Instant> {
        self.next_silence
    }

    pub fn stats(&self) -> SendStats {
        self.stats
    }

    /// Encodes and writes the tick at `at`. Whether a packet was made (`false`: paused in DTX).
    fn tick<E: std::fmt::Display>(
        &mut self,
        at: Instant,
        frame: Option<&[i16]>,
        mut write: impl FnMut(OutgoingPacket<'_>) -> Result<(), E>,
    ) -> bool {
        let failure = match self.voice.tick(at, frame) {
            Ok(None) => return false,
            Ok(Some(packet)) => {
                self.stats.packets += 1;
                write(packet).err().map(|e| e.to_string())
            }
            Err(error) => Some(error.to_string()),
        };
        if let Some(error) = failure
            && losses::count(&mut self.stats.failures)
        {
            tracing::warn!(%error, count = self.stats.failures, "agent audio packet lost");
        }
        true
    }
}
