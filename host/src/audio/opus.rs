//! Opus as WebRTC carries speech: 48 kHz mono, 20 ms frames. The codec crate (`opus-pure`,
//! pure Rust) stays behind these two types so it can be swapped; both work in buffers they keep
//! (decoding a packet allocates nothing; opus-pure's encoder and its loss concealment make a few
//! small allocations of their own per frame, see `tests/audio_allocations.rs`).

use opus_pure::{Application, MAX_PACKET_BYTES, Signal};

/// The rate Opus runs at in WebRTC.
pub const OPUS_RATE: u32 = 48_000;
/// Samples in one 20 ms mono frame at [`OPUS_RATE`].
pub const FRAME_SAMPLES: usize = 960;
/// Speech bitrate: LiveKit's and browsers' default for a voice track.
pub const VOICE_BITRATE: i32 = 32_000;
/// The agent's encoder effort (0–10; libopus and browsers use 9). A server encodes one stream per
/// session: 5 skips the speech/music analysis (the signal is known to be speech) and cuts the
/// encode cost by about half, measured in the `audio_frame` bench with the quality checked in the
/// round-trip tests.
pub const AGENT_COMPLEXITY: i32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpusError {
    /// The codec refused the packet or the frame (a corrupt packet from the network, say).
    #[error("Opus: {0}")]
    Codec(String),
    #[error("Opus frames are {FRAME_SAMPLES} samples (20 ms at 48 kHz mono), got {0}")]
    FrameSize(usize),
}

fn codec(error: opus_pure::Error) -> OpusError {
    OpusError::Codec(error.to_string())
}

/// Encodes the agent's voice.
pub struct OpusEncoder {
    inner: opus_pure::OpusEncoder,
    packet: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// A speech encoder (VOIP application, in-band FEC for lossy links) at `bitrate_bps`.
    pub fn voice(bitrate_bps: i32) -> Result<Self, OpusError> {
        let mut inner = opus_pure::OpusEncoder::new(OPUS_RATE as i32, 1, Application::Voip).map_err(codec)?;
        inner.bitrate_bps = bitrate_bps;
        inner.use_inband_fec = true;
        inner.packet_loss_perc = 5;
        Ok(Self { inner, packet: vec![0; MAX_PACKET_BYTES] })
    }

    /// [`Self::voice`] with discontinuous transmission: silence goes out as 1-byte packets.
    pub fn voice_with_dtx(bitrate_bps: i32) -> Result<Self, OpusError> {
        let mut encoder = Self::voice(bitrate_bps)?;
        encoder.inner.use_dtx = true;
        Ok(encoder)
    }

    /// The agent's voice as a server sends it: [`Self::voice_with_dtx`], known to be speech, at
    /// [`AGENT_COMPLEXITY`].
    pub fn agent_voice(bitrate_bps: i32) -> Result<Self, OpusError> {
        let mut encoder = Self::voice_with_dtx(bitrate_bps)?;
        encoder.inner.complexity = AGENT_COMPLEXITY;
        encoder.inner.signal_type = Some(Signal::Voice);
        Ok(encoder)
    }

    /// One 20 ms frame in, one packet out (valid until the next call).
    pub fn encode(&mut self, pcm: &[i16]) -> Result<&[u8], OpusError> {
        if pcm.len() != FRAME_SAMPLES {
            return Err(OpusError::FrameSize(pcm.len()));
        }
        let n = self.inner.encode_s16(pcm, FRAME_SAMPLES, &mut self.packet).map_err(codec)?;
        Ok(&self.packet[..n])
    }
}

/// Decodes the user's microphone.
pub struct OpusDecoder {
    inner: opus_pure::OpusDecoder,
    pcm: Vec<i16>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    pub fn new() -> Result<Self, OpusError> {
        let inner = opus_pure::OpusDecoder::new(OPUS_RATE as i32, 1).map_err(codec)?;
        // Up to 120 ms in one packet, the most Opus carries.
        Ok(Self { inner, pcm: vec![0; FRAME_SAMPLES * 6] })
    }

    /// One packet in, its samples out (valid until the next call). A corrupt packet is an
    /// error, never a panic.
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16], OpusError> {
        let n = self.inner.decode_s16(packet, self.pcm.len(), &mut self.pcm).map_err(codec)?;
        Ok(&self.pcm[..n])
    }

    /// A lost 20 ms frame: concealed from what came before.
    pub fn conceal(&mut self) -> Result<&[i16], OpusError> {
        let n = self.inner.decode_s16(&[], FRAME_SAMPLES, &mut self.pcm[..FRAME_SAMPLES]).map_err(codec)?;
        Ok(&self.pcm[..n])
    }

    /// A lost 20 ms frame rebuilt from the in-band FEC of the packet that followed it (falls
    /// back to concealment when that packet carries none).
    pub fn recover(&mut self, next: &[u8]) -> Result<&[i16], OpusError> {
        let n = self.inner.decode_fec_s16(next, FRAME_SAMPLES, &mut self.pcm[..FRAME_SAMPLES]).map_err(codec)?;
        Ok(&self.pcm[..n])
    }
}

#[cfg(test)]
#[path = "opus_tests.rs"]
mod tests;
