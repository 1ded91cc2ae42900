//! The agent's voice as an Opus stream, sans-I/O, as browsers send a microphone: a packet for
//! every 20 ms frame of speech, the first of each talkspurt with the marker bit; silence coded
//! with DTX, and once the encoder has gone over to DTX (a 1-byte packet), nothing at all until
//! the agent speaks again (no CPU, no packets, no timer for an idle session). RTP time follows
//! the clock: one frame per packet while the stream runs, the whole pause when it resumes.
//!
//! Time is kept as a 64-bit count of 48 kHz samples that never wraps; the RTP timestamp is its
//! low 32 bits (str0m takes the 64-bit media time and does the truncation itself).

use std::time::Instant;

use super::jitter::FRAME;
use super::opus::{FRAME_SAMPLES, OpusEncoder, OpusError, VOICE_BITRATE};

/// Packets this short carry no audio: the encoder is in DTX.
const DTX_PACKET_BYTES: usize = 2;

/// One packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingPacket<'a> {
    /// Media time in 48 kHz samples since the stream's start value (RTP: the low 32 bits).
    pub media_time: u64,
    /// The first packet after silence.
    pub marker: bool,
    pub payload: &'a [u8],
}

pub struct OutgoingVoice {
    encoder: OpusEncoder,
    /// The media time of the last packet.
    media_time: u64,
    /// When the last packet was made; `None` before the first.
    last: Option<Instant>,
    speaking: bool,
    /// DTX reached: silent ticks make nothing until the next frame of speech.
    paused: bool,
    silence: Vec<i16>,
}

impl std::fmt::Debug for OutgoingVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingVoice").field("media_time", &self.media_time).finish_non_exhaustive()
    }
}

impl OutgoingVoice {
    /// Starts at `media_time` (its low 32 bits random, as RTP asks).
    pub fn new(media_time: u64) -> Result<Self, OpusError> {
        let encoder = OpusEncoder::agent_voice(VOICE_BITRATE)?;
        Ok(Self { encoder, media_time, last: None, speaking: false, paused: false, silence: vec![0; FRAME_SAMPLES] })
    }

    /// Whether the stream is paused in DTX: silent ticks are not needed until the agent speaks.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The packet for `now`: the agent's 20 ms frame, or silence when it has none (quiet,
    /// interrupted: the next tick is silent, so audible output stops within one frame).
    /// `None` while paused in DTX.
    pub fn tick(&mut self, now: Instant, frame: Option<&[i16]>) -> Result<Option<OutgoingPacket<'_>>, OpusError> {
        if frame.is_none() && self.paused {
            return Ok(None);
        }
        let frames: u64 = match self.last {
            None => 0,
            // Resuming after DTX: the pause, to the nearest frame.
            Some(last) if self.paused => {
                let elapsed = now.saturating_duration_since(last).as_micros() + FRAME.as_micros() / 2;
                u64::try_from(elapsed / FRAME.as_micros()).unwrap_or(u64::MAX).max(1)
            }
            // A running stream is paced by its caller: one frame per packet.
            Some(_) => 1,
        };
        self.media_time = self.media_time.saturating_add(frames.saturating_mul(FRAME_SAMPLES as u64));
        self.last = Some(now);
        let marker = frame.is_some() && !self.speaking;
        self.speaking = frame.is_some();
        let payload = self.encoder.encode(frame.unwrap_or(&self.silence))?;
        self.paused = frame.is_none() && payload.len() <= DTX_PACKET_BYTES;
        Ok(Some(OutgoingPacket { media_time: self.media_time, marker, payload }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::opus::OpusDecoder;

    fn tone(n: usize) -> Vec<i16> {
        (0..n).map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / 48_000.0).sin() * 8000.0) as i16).collect()
    }

    #[test]
    fn speech_then_dtx_then_nothing_with_rtp_time_following_the_clock() {
        let t0 = Instant::now();
        let mut voice = OutgoingVoice::new(u64::from(u32::MAX) - 960).unwrap();
        let speech = tone(FRAME_SAMPLES);
        let mut decoder = OpusDecoder::new().unwrap();
        let mut log = Vec::new();
        // 5 frames of speech, 50 ticks of silence, 3 frames of speech, one tick every 20 ms.
        let script: Vec<bool> = [vec![true; 5], vec![false; 50], vec![true; 3]].concat();
        for (i, speaks) in script.into_iter().enumerate() {
            let now = t0 + FRAME * i as u32;
            if let Some(packet) = voice.tick(now, speaks.then_some(&speech[..])).unwrap() {
                let loud = decoder.decode(packet.payload).unwrap().iter().any(|s| s.unsigned_abs() > 1000);
                log.push((i, packet.media_time, packet.marker, packet.payload.len(), loud));
            }
        }
        // Every packet's time is the clock's: tick i is i frames after the first, across the
        // 32-bit wrap and the pause.
        let start = log[0].1;
        assert!(log.iter().all(|l| l.1 == start + l.0 as u64 * 960), "{log:?}");
        assert!(log.iter().any(|l| (l.1 as u32) < (start as u32)), "the RTP timestamp wrapped");
        let markers: Vec<usize> = log.iter().filter(|l| l.2).map(|l| l.0).collect();
        assert_eq!(markers, [0, 55], "a marker on each talkspurt's first packet");
        // Speech is heard; the silence after it shrinks to a 1-byte DTX packet, then stops.
        assert!(log[1..5].iter().all(|l| l.4));
        let silent: Vec<_> = log.iter().filter(|l| (5..55).contains(&l.0)).collect();
        // (The first silent packet still carries the codec's look-ahead of the last speech.)
        assert!(silent[1..].iter().all(|l| !l.4), "{silent:?}");
        assert!(silent.len() < 50 && silent.last().is_some_and(|l| l.3 == 1), "{silent:?}");
        assert!(voice.is_paused() || log.last().is_some_and(|l| l.0 == 57));
        assert_eq!(log.iter().filter(|l| l.0 >= 55).count(), 3, "speech resumes at once");
        assert!(log.iter().filter(|l| l.0 >= 55).skip(1).all(|l| l.4));
    }
}
