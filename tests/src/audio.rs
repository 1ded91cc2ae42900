//! Deterministic PCM for tests: generators, byte conversions and WAV files.
//!
//! Everything here is 16-bit signed mono, the only sample format the voice pipeline carries.
//! Generators are pure functions of their arguments so a test can recompute the exact bytes a
//! fake sent, or the exact samples it should have received.

use std::f64::consts::TAU;
use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Peak level of the generated tones: loud enough to be unmistakably "speech-like" for a VAD,
/// with headroom so a sum of two tones cannot clip.
pub const TONE_AMPLITUDE: f64 = 0.4 * i16::MAX as f64;

/// How many samples `duration_ms` of audio holds at `sample_rate`.
pub fn samples_for_ms(sample_rate: u32, duration_ms: u64) -> usize {
    (u64::from(sample_rate) * duration_ms / 1000) as usize
}

/// Duration in milliseconds of `samples` samples at `sample_rate`.
pub fn ms_for_samples(sample_rate: u32, samples: usize) -> f64 {
    samples as f64 * 1000.0 / f64::from(sample_rate)
}

/// A sine tone as samples. Phase starts at zero, so the first sample is always 0.
pub fn sine_samples(frequency_hz: f64, sample_rate: u32, duration_ms: u64) -> Vec<i16> {
    let count = samples_for_ms(sample_rate, duration_ms);
    (0..count)
        .map(|n| {
            let t = n as f64 / f64::from(sample_rate);
            (TONE_AMPLITUDE * (TAU * frequency_hz * t).sin()).round() as i16
        })
        .collect()
}

/// A sine tone as 16-bit little-endian PCM bytes.
pub fn sine_s16le(frequency_hz: f64, sample_rate: u32, duration_ms: u64) -> Vec<u8> {
    samples_to_s16le(&sine_samples(frequency_hz, sample_rate, duration_ms))
}

/// Digital silence.
pub fn silence_samples(sample_rate: u32, duration_ms: u64) -> Vec<i16> {
    vec![0; samples_for_ms(sample_rate, duration_ms)]
}

/// Digital silence as 16-bit little-endian PCM bytes.
pub fn silence_s16le(sample_rate: u32, duration_ms: u64) -> Vec<u8> {
    vec![0; samples_for_ms(sample_rate, duration_ms) * 2]
}

/// Samples to 16-bit little-endian bytes.
pub fn samples_to_s16le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// 16-bit little-endian bytes to samples. An odd trailing byte is an error: PCM cut mid-sample
/// means a framing bug somewhere, which a test should see rather than have rounded away.
pub fn s16le_to_samples(bytes: &[u8]) -> Result<Vec<i16>> {
    if !bytes.len().is_multiple_of(2) {
        bail!("{} bytes is not a whole number of 16-bit samples", bytes.len());
    }
    Ok(bytes.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect())
}

/// Splits samples into frames of `frame_ms` (the last one may be shorter), the way a
/// microphone or a transport delivers them.
pub fn frames(samples: &[i16], sample_rate: u32, frame_ms: u64) -> Vec<Vec<i16>> {
    let per_frame = samples_for_ms(sample_rate, frame_ms).max(1);
    samples.chunks(per_frame).map(<[i16]>::to_vec).collect()
}

/// Root-mean-square level, 0.0 for empty input. Handy to assert "this is the tone, not silence".
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// A decoded WAV file.
#[derive(Clone, Debug, PartialEq)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: u16,
    /// Interleaved when `channels > 1`.
    pub samples: Vec<i16>,
}

/// Encodes 16-bit mono samples as a RIFF WAVE file in memory.
pub fn wav_bytes(samples: &[i16], sample_rate: u32) -> Result<Vec<u8>> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cursor = Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut cursor, spec).context("starting WAV")?;
        for &sample in samples {
            writer.write_sample(sample).context("writing WAV sample")?;
        }
        writer.finalize().context("finishing WAV")?;
    }
    Ok(cursor.into_inner())
}

/// Decodes an in-memory RIFF WAVE file holding 16-bit integer PCM.
pub fn read_wav_bytes(bytes: &[u8]) -> Result<Wav> {
    let reader = hound::WavReader::new(Cursor::new(bytes)).context("not a RIFF WAVE file")?;
    decode(reader)
}

/// Writes 16-bit mono samples to a WAV file.
pub fn write_wav(path: impl AsRef<Path>, samples: &[i16], sample_rate: u32) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, wav_bytes(samples, sample_rate)?).with_context(|| format!("writing {}", path.display()))
}

/// Reads a WAV file holding 16-bit integer PCM.
pub fn read_wav(path: impl AsRef<Path>) -> Result<Wav> {
    let path = path.as_ref();
    let reader = hound::WavReader::open(path).with_context(|| format!("opening {}", path.display()))?;
    decode(reader)
}

fn decode<R: std::io::Read>(reader: hound::WavReader<R>) -> Result<Wav> {
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        bail!("WAV holds {:?} {}-bit samples, not 16-bit integer PCM", spec.sample_format, spec.bits_per_sample);
    }
    let samples = reader.into_samples::<i16>().collect::<Result<Vec<_>, _>>().context("decoding WAV samples")?;
    Ok(Wav { sample_rate: spec.sample_rate, channels: spec.channels, bits_per_sample: spec.bits_per_sample, samples })
}

/// The sentence of the LibriVox recording in the tree ("He was not an ill disposed young man."):
/// 16 kHz mono, speech from 0.25 s to 2.77 s.
pub const LIBRIVOX_TEXT: &str = "He was not an ill disposed young man.";

/// The LibriVox recording's samples.
pub fn librivox() -> Vec<i16> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../host/src/audio/testdata/librivox-sense-0880.wav");
    let wav = read_wav(path).expect("the LibriVox recording in host/src/audio/testdata");
    assert_eq!((wav.sample_rate, wav.channels), (16_000, 1));
    wav.samples
}

/// 16 kHz: `speech_at_ms` of silence, the LibriVox sentence, then silence up to `total_ms`.
pub fn librivox_timeline(speech_at_ms: u64, total_ms: u64) -> Vec<i16> {
    let mut samples = silence_samples(16_000, speech_at_ms);
    samples.extend(librivox());
    let total = samples_for_ms(16_000, total_ms);
    samples.resize(total.max(samples.len()), 0);
    samples
}

/// `text` said by espeak-ng in `voice`, at 16 kHz mono (through sox), if both are installed.
pub fn espeak(text: &str, voice: &str) -> Option<Vec<i16>> {
    use std::process::Command;
    let dir = tempfile::tempdir().ok()?;
    let (raw, out) = (dir.path().join("raw.wav"), dir.path().join("out.wav"));
    let spoke = Command::new("espeak-ng").args(["-v", voice, "-w"]).arg(&raw).arg(text).output().ok()?;
    let converted =
        Command::new("sox").arg(&raw).args(["-r", "16000", "-c", "1", "-b", "16"]).arg(&out).output().ok()?;
    if !(spoke.status.success() && converted.status.success()) {
        return None;
    }
    read_wav(&out).ok().map(|wav| wav.samples)
}

/// The LibriVox recording at 48 kHz (Opus's rate), padded to whole 20 ms frames.
pub fn librivox_48k() -> Vec<i16> {
    use voiceblox_host::audio::{AudioFrame, StreamResampler};
    let mut up = StreamResampler::new(16_000, 48_000, 1).expect("16 to 48 kHz");
    let frame = AudioFrame::new(librivox(), 16_000, 1).expect("a mono frame");
    let mut out = up.process(&frame).expect("resampled").into_samples();
    out.extend(up.flush().expect("flushed").samples());
    out.resize(out.len().div_ceil(960) * 960, 0);
    out
}

/// The level of each `frame`-sample block: the speech's shape over time.
pub fn envelope(samples: &[i16], frame: usize) -> Vec<f64> {
    samples.chunks(frame).map(rms).collect()
}

/// How well `received` follows `sent` in loudness over time, whatever the delay: Pearson's
/// correlation of their [`envelope`]s at the best lag of up to `max_lag` blocks of `received`
/// behind `sent`. Returns (lag in blocks, correlation). A network path that carries the speech
/// scores near 1; silence, noise or a different recording near 0.
pub fn envelope_match(sent: &[i16], received: &[i16], frame: usize, max_lag: usize) -> (usize, f64) {
    let (a, b) = (envelope(sent, frame), envelope(received, frame));
    let pearson = |lag: usize| {
        let n = a.len().min(b.len().saturating_sub(lag));
        if n < 2 {
            return 0.0;
        }
        let (x, y) = (&a[..n], &b[lag..lag + n]);
        let (mx, my) = (x.iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
        let cov: f64 = x.iter().zip(y).map(|(p, q)| (p - mx) * (q - my)).sum();
        let vx: f64 = x.iter().map(|p| (p - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|q| (q - my).powi(2)).sum();
        cov / (vx * vy).sqrt().max(f64::MIN_POSITIVE)
    };
    (0..=max_lag).map(|lag| (lag, pearson(lag))).max_by(|x, y| x.1.total_cmp(&y.1)).unwrap_or((0, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_is_deterministic_and_sized_by_duration() {
        let a = sine_samples(440.0, 16_000, 250);
        assert_eq!(a.len(), 4_000);
        assert_eq!(a, sine_samples(440.0, 16_000, 250));
        assert_eq!(a[0], 0);
        assert!(rms(&a) > 0.25 * TONE_AMPLITUDE);
        assert_eq!(sine_s16le(440.0, 16_000, 250), samples_to_s16le(&a));
    }

    #[test]
    fn s16le_round_trips_and_rejects_half_samples() -> Result<()> {
        let samples = vec![0, 1, -1, i16::MAX, i16::MIN, 12_345];
        assert_eq!(s16le_to_samples(&samples_to_s16le(&samples))?, samples);
        assert!(s16le_to_samples(&[1, 2, 3]).is_err());
        Ok(())
    }

    #[test]
    fn wav_round_trips_in_memory_and_on_disk() -> Result<()> {
        let samples = sine_samples(300.0, 24_000, 40);
        let wav = read_wav_bytes(&wav_bytes(&samples, 24_000)?)?;
        assert_eq!((wav.sample_rate, wav.channels, wav.bits_per_sample), (24_000, 1, 16));
        assert_eq!(wav.samples, samples);

        let path = std::env::temp_dir().join(format!("voiceblox-audio-{}.wav", std::process::id()));
        write_wav(&path, &samples, 24_000)?;
        let from_disk = read_wav(&path);
        std::fs::remove_file(&path)?;
        assert_eq!(from_disk?.samples, samples);
        Ok(())
    }

    #[test]
    fn the_envelope_match_finds_the_delay_and_tells_speech_from_silence() {
        let speech = librivox_48k();
        let mut delayed = silence_samples(48_000, 100);
        delayed.extend(&speech);
        let (lag, r) = envelope_match(&speech, &delayed, 960, 20);
        assert_eq!(lag, 5);
        assert!(r > 0.999, "{r}");
        let noise: Vec<i16> = (0..speech.len()).map(|i| ((i * 7919) % 2000) as i16 - 1000).collect();
        assert!(envelope_match(&speech, &noise, 960, 20).1 < 0.3);
    }

    #[test]
    fn frames_cover_every_sample() {
        let samples = silence_samples(16_000, 105);
        let framed = frames(&samples, 16_000, 20);
        assert_eq!(framed.len(), 6);
        assert_eq!(framed.iter().map(Vec::len).sum::<usize>(), samples.len());
        assert_eq!(framed[5].len(), 80);
    }
}
