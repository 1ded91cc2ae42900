//! WAV (RIFF, PCM s16le, mono) encoding for upload APIs that want a file, not raw samples.

/// A complete WAV file holding `samples` at `sample_rate`.
pub fn wav_s16le_mono(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    const CHANNELS: u16 = 1;
    const BITS: u16 = 16;
    let block_align = CHANNELS * BITS / 8;
    let byte_rate = sample_rate.saturating_mul(u32::from(block_align));
    // Sizes are u32 in RIFF; saturate rather than wrap for absurd inputs (> 2 GiB of audio).
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX - 36);

    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&CHANNELS.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_samples() {
        let wav = wav_s16le_mono(&[0, 1, -1], 16_000);
        let expected: Vec<u8> = [
            b"RIFF".as_slice(),
            &42u32.to_le_bytes(),
            b"WAVE",
            b"fmt ",
            &16u32.to_le_bytes(),
            &1u16.to_le_bytes(),
            &1u16.to_le_bytes(),
            &16_000u32.to_le_bytes(),
            &32_000u32.to_le_bytes(),
            &2u16.to_le_bytes(),
            &16u16.to_le_bytes(),
            b"data",
            &6u32.to_le_bytes(),
            &[0, 0, 1, 0, 0xFF, 0xFF],
        ]
        .concat();
        assert_eq!(wav, expected);
    }

    #[test]
    fn empty_audio_is_a_valid_header() {
        let wav = wav_s16le_mono(&[], 24_000);
        assert_eq!(wav.len(), 44);
        assert_eq!(&wav[40..44], &0u32.to_le_bytes());
    }
}
