//! The agent's voice as an Opus stream, sans-I/O: one packet per 20 ms tick whether the agent
//! speaks or not, so the receiver's clock never stalls. RTP time advances by one frame per tick
//! (continuous across silence); silence is coded with DTX (a 1-byte packet once the encoder has
//! heard enough of it); the first packet of each talkspurt carries the marker bit.
//!
//! Time is kept as a 64-bit count of 48 kHz samples that never wraps; the RTP timestamp is its
//! low 32 bits (str0m takes the 64-bit media time and does the truncation itself).

use super::opus::{FRAME_SAMPLES, OpusEncoder, OpusError, VOICE_BITRATE};

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
    media_time: u64,
    speaking: bool,
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
        Ok(Self { encoder, media_time, speaking: false, silence: vec![0; FRAME_SAMPLES] })
    }

    /// The tick's packet: the agent's 20 ms frame, or silence when it has none (paused, quiet,
    /// interrupted: the next tick is silent, so audible output stops within one frame).
    pub fn tick(&mut self, frame: Option<&[i16]>) -> Result<OutgoingPacket<'_>, OpusError> {
        let marker = frame.is_some() && !self.speaking;
        self.speaking = frame.is_some();
        let media_time = self.media_time;
        self.media_time += FRAME_SAMPLES as u64;
        let payload = self.encoder.encode(frame.unwrap_or(&self.silence))?;
        Ok(OutgoingPacket { media_time, marker, payload })
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
    fn one_packet_per_tick_with_continuous_time_markers_on_talkspurts_and_dtx_in_silence() {
        let mut voice = OutgoingVoice::new(u64::from(u32::MAX) - 960).unwrap();
        let speech = tone(FRAME_SAMPLES);
        let mut decoder = OpusDecoder::new().unwrap();
        let mut log = Vec::new();
        // 5 frames of speech, 50 of silence, 3 of speech.
        let script: Vec<bool> = [vec![true; 5], vec![false; 50], vec![true; 3]].concat();
        for speaks in script {
            let packet = voice.tick(speaks.then_some(&speech[..])).unwrap();
            let loud = decoder.decode(packet.payload).unwrap().iter().any(|s| s.unsigned_abs() > 1000);
            log.push((packet.media_time as u32, packet.marker, packet.payload.len(), loud));
        }
        // RTP time steps by one frame every tick, across silence and the 32-bit wrap.
        for pair in log.windows(2) {
            assert_eq!(pair[1].0, pair[0].0.wrapping_add(960));
        }
        let markers: Vec<usize> = log.iter().enumerate().filter(|(_, l)| l.1).map(|(i, _)| i).collect();
        assert_eq!(markers, [0, 55], "a marker on each talkspurt's first packet");
        // Speech is heard; the silence after it shrinks to DTX packets (1 byte, with a few-byte
        // comfort-noise update now and then).
        assert!(log[1..5].iter().all(|l| l.3));
        assert!(log[30..55].iter().all(|l| l.2 <= 8 && !l.3), "{:?}", &log[30..55]);
        assert!(log[30..55].iter().filter(|l| l.2 == 1).count() >= 20);
        assert!(log[56..].iter().all(|l| l.3));
    }
}
