//! [`StreamResampler`]: streaming sample-rate conversion of s16 frames (48k ↔ 16k ↔ 24k, any pair).
//!
//! Built on rubato 5's synchronous FFT resampler (`rubato::Fft`), which needs fixed input chunks;
//! this wrapper accepts frames of any length, buffers the remainder, and keeps the filter state
//! between calls, so one session's audio is one continuous signal whatever its frame sizes. The
//! resampler's start-up delay is trimmed from the output, so output sample `n` lines up with input
//! time `n / output_rate`; [`StreamResampler::flush`] pushes out the tail at end of stream.
//!
//! Sans-I/O: no clock, no threads; `&mut self` only.

use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::frame::{AudioFrame, FrameError};

/// Why resampling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResampleError {
    /// rubato refused the rate pair (e.g. a zero rate).
    #[error("cannot resample {from} Hz to {to} Hz: {source}")]
    Unsupported {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
        /// rubato's reason.
        source: rubato::ResamplerConstructionError,
    },
    /// A frame did not have the rate/channel count this resampler was built for.
    #[error("frame is {got_rate} Hz × {got_channels} ch, resampler expects {rate} Hz × {channels} ch")]
    FormatMismatch {
        /// Expected input rate.
        rate: u32,
        /// Expected channels.
        channels: u16,
        /// Rate of the frame given.
        got_rate: u32,
        /// Channels of the frame given.
        got_channels: u16,
    },
    /// The channel count is zero.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// rubato failed while processing; with buffers sized from its own `*_frames_max` this is a bug.
    #[error("resampler engine: {0}")]
    Engine(#[from] rubato::ResampleError),
    /// A buffer view could not be built over our own scratch; also a bug.
    #[error("resampler buffer: {0}")]
    Buffer(#[from] rubato::audioadapter_buffers::SizeError),
}

/// rubato's state plus the partial chunk not yet processed.
struct Engine {
    fft: Fft<f32>,
    /// Interleaved input waiting for a full chunk.
    pending: Vec<f32>,
    /// Scratch for one output chunk (interleaved), sized once.
    scratch: Vec<f32>,
    /// Output frames of start-up delay still to drop.
    to_skip: usize,
    /// Input frames received since the last flush.
    frames_in: u64,
    /// Output frames emitted since the last flush.
    frames_out: u64,
}

/// Streaming s16 resampler for one stream with a fixed input rate, output rate and channel count.
pub struct StreamResampler {
    input_rate: u32,
    output_rate: u32,
    channels: u16,
    /// `None` when the rates match: frames pass through untouched.
    engine: Option<Engine>,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("input_rate", &self.input_rate)
            .field("output_rate", &self.output_rate)
            .field("channels", &self.channels)
            .field("passthrough", &self.engine.is_none())
            .finish()
    }
}

impl StreamResampler {
    /// A resampler from `input_rate` to `output_rate` for `channels` interleaved channels.
    pub fn new(input_rate: u32, output_rate: u32, channels: u16) -> Result<Self, ResampleError> {
        if channels == 0 {
            return Err(FrameError::ZeroChannels.into());
        }
        if input_rate == 0 || output_rate == 0 {
            return Err(FrameError::ZeroSampleRate.into());
        }
        if input_rate == output_rate {
            return Ok(Self { input_rate, output_rate, channels, engine: None });
        }
        // 10 ms chunks: small enough for real-time latency, large enough for an efficient FFT; rubato
        // rounds the chunk up to a multiple of what the rate ratio needs (read back via input_frames_next).
        let chunk = (input_rate as usize / 100).max(1);
        let fft =
            Fft::<f32>::new(input_rate as usize, output_rate as usize, chunk, usize::from(channels), FixedSync::Input)
                .map_err(|source| ResampleError::Unsupported { from: input_rate, to: output_rate, source })?;
        let scratch = vec![0.0; fft.output_frames_max() * usize::from(channels)];
        let to_skip = fft.output_delay();
        let pending = Vec::with_capacity(fft.input_frames_max() * usize::from(channels) * 2);
        Ok(Self {
            input_rate,
            output_rate,
            channels,
            engine: Some(Engine { fft, pending, scratch, to_skip, frames_in: 0, frames_out: 0 }),
        })
    }

    /// Input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Output rate in Hz.
    pub fn output_rate(&self) -> u32 {
        self.output_rate
    }

    /// True when the rates match and frames pass through unchanged.
    pub fn is_passthrough(&self) -> bool {
        self.engine.is_none()
    }

    /// Worst-case delay, in output samples per channel, between an input sample arriving and its
    /// resampled counterpart being returned: one buffered input chunk plus the filter delay.
    pub fn latency_samples(&self) -> usize {
        match &self.engine {
            None => 0,
            Some(e) => {
                let chunk_out =
                    e.fft.input_frames_max() as u64 * u64::from(self.output_rate) / u64::from(self.input_rate);
                e.fft.output_delay() + chunk_out as usize
            }
        }
    }

    /// [`Self::latency_samples`] as time.
    pub fn latency(&self) -> Duration {
        Duration::from_secs_f64(self.latency_samples() as f64 / f64::from(self.output_rate))
    }

    /// Resamples one frame of any length (including empty); returns what is ready, possibly empty.
    pub fn process(&mut self, frame: &AudioFrame) -> Result<AudioFrame, ResampleError> {
        if frame.sample_rate() != self.input_rate || frame.channels() != self.channels {
            return Err(ResampleError::FormatMismatch {
                rate: self.input_rate,
                channels: self.channels,
                got_rate: frame.sample_rate(),
                got_channels: frame.channels(),
            });
        }
        let channels = usize::from(self.channels);
        let Some(engine) = self.engine.as_mut() else {
            return Ok(frame.clone());
        };
        engine.frames_in += frame.samples_per_channel() as u64;
        engine.pending.extend(frame.samples().iter().map(|&s| f32::from(s) / 32768.0));
        let mut out = Vec::new();
        let mut consumed = 0;
        // Taken out for the loop so `run` can borrow the engine mutably; put back below.
        let mut pending = std::mem::take(&mut engine.pending);
        while (pending.len() - consumed) / channels >= engine.fft.input_frames_next() {
            match engine.run(&pending[consumed..], channels, None, &mut out) {
                Ok(used) => consumed += used * channels,
                Err(e) => {
                    engine.pending = pending;
                    return Err(e);
                }
            }
        }
        pending.drain(..consumed);
        engine.pending = pending;
        Ok(self.frame(out))
    }

    /// Ends the stream: returns the remaining output so the total output length is
    /// `ceil(input_len × output_rate / input_rate)`, then resets for a new stream.
    pub fn flush(&mut self) -> Result<AudioFrame, ResampleError> {
        let channels = usize::from(self.channels);
        let (input_rate, output_rate) = (u64::from(self.input_rate), u64::from(self.output_rate));
        let Some(engine) = self.engine.as_mut() else {
            return Ok(self.frame(Vec::new()));
        };
        let expected = (engine.frames_in * output_rate).div_ceil(input_rate);
        let mut out = Vec::new();
        // Feed the partial chunk, then silence, until the delayed tail has come out. Each round
        // yields at least one chunk of output, so this ends; the bound guards against a rubato bug.
        let mut rounds = 0;
        while engine.frames_out < expected && rounds < 64 {
            let pending = std::mem::take(&mut engine.pending);
            let partial = pending.len() / channels;
            engine.run(&pending, channels, Some(partial), &mut out)?;
            rounds += 1;
        }
        let surplus = (engine.frames_out.saturating_sub(expected)) as usize * channels;
        out.truncate(out.len().saturating_sub(surplus));
        engine.fft.reset();
        engine.pending.clear();
        engine.to_skip = engine.fft.output_delay();
        engine.frames_in = 0;
        engine.frames_out = 0;
        Ok(self.frame(out))
    }

    fn frame(&self, samples: Vec<i16>) -> AudioFrame {
        // Invariant: every chunk rubato writes holds whole frames of `channels` samples, and the
        // rate and channels were validated in `new`.
        AudioFrame::new(samples, self.output_rate, self.channels).expect("resampler output is whole frames")
    }
}

impl Engine {
    /// Runs one chunk from the start of `input` (or `partial` frames of it, the rest silence),
    /// appends the converted output minus any start-up delay, and returns input frames consumed.
    fn run(
        &mut self,
        input: &[f32],
        channels: usize,
        partial: Option<usize>,
        out: &mut Vec<i16>,
    ) -> Result<usize, ResampleError> {
        let in_frames = input.len() / channels;
        let input = InterleavedSlice::new(input, channels, in_frames)?;
        let out_frames = self.scratch.len() / channels;
        let mut output = InterleavedSlice::new_mut(&mut self.scratch, channels, out_frames)?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (used, written) = self.fft.process_into_buffer(&input, &mut output, indexing.as_ref())?;
        let skip = self.to_skip.min(written);
        self.to_skip -= skip;
        self.frames_out += (written - skip) as u64;
        out.extend(
            self.scratch[skip * channels..written * channels]
                .iter()
                .map(|&x| (x * 32768.0).round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16),
        );
        Ok(used)
    }
}

/// Runs `frame` through `resampler` to `rate`, making it (again) when the input rate changes:
/// one stream of audio whose rate may change mid-way (a republished track). `None` (logged)
/// when the audio cannot be used.
pub fn resample_stream(
    resampler: &mut Option<StreamResampler>,
    frame: &AudioFrame,
    rate: u32,
    what: &str,
) -> Option<AudioFrame> {
    if resampler.as_ref().is_none_or(|r| r.input_rate() != frame.sample_rate()) {
        match StreamResampler::new(frame.sample_rate(), rate, 1) {
            Ok(new) => *resampler = Some(new),
            Err(error) => {
                tracing::warn!(%error, "unusable {what}; frame dropped");
                return None;
            }
        }
    }
    match resampler.as_mut().map(|r| r.process(frame)) {
        Some(Ok(frame)) => Some(frame),
        Some(Err(error)) => {
            tracing::warn!(%error, "{what} could not be resampled; frame dropped");
            None
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<i16> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()).round() as i16)
            .collect()
    }

    /// Goertzel power at `freq`, normalised so a full-scale sine gives ~0.25·amp².
    fn goertzel(samples: &[i16], rate: u32, freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in samples {
            let s = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let n = samples.len() as f64;
        (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
    }

    fn rms(samples: &[i16]) -> f64 {
        (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }

    fn zero_crossings(samples: &[i16]) -> usize {
        samples.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count()
    }

    fn run_chunked(r: &mut StreamResampler, input: &[i16], rate: u32, sizes: &[usize]) -> Vec<i16> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < input.len() {
            let n = sizes[k % sizes.len()].min(input.len() - pos);
            let f = AudioFrame::new(input[pos..pos + n].to_vec(), rate, 1).unwrap();
            out.extend_from_slice(r.process(&f).unwrap().samples());
            pos += n;
            k += 1;
        }
        out.extend_from_slice(r.flush().unwrap().samples());
        out
    }

    #[test]
    fn sine_round_trip_48k_16k_48k_keeps_frequency_and_energy() {
        let input = sine(1000.0, 48_000, 1.0, 10_000.0);
        let mut down = StreamResampler::new(48_000, 16_000, 1).unwrap();
        let mut up = StreamResampler::new(16_000, 48_000, 1).unwrap();
        let mid = run_chunked(&mut down, &input, 48_000, &[960]);
        assert_eq!(mid.len(), 16_000);
        let back = run_chunked(&mut up, &mid, 16_000, &[320]);
        assert_eq!(back.len(), 48_000);
        // Ignore the edges, where the filters see the step from/to silence.
        let core = |s: &[i16]| s[s.len() / 10..s.len() * 9 / 10].to_vec();
        let (mid_c, back_c, in_c) = (core(&mid), core(&back), core(&input));
        // 1 kHz → 2 crossings per ms.
        let zc = zero_crossings(&mid_c) as f64 / (mid_c.len() as f64 / 16.0);
        assert!((zc - 2.0).abs() < 0.02, "16 kHz crossings per ms {zc}");
        let zc = zero_crossings(&back_c) as f64 / (back_c.len() as f64 / 48.0);
        assert!((zc - 2.0).abs() < 0.02, "48 kHz crossings per ms {zc}");
        let rel = rms(&back_c) / rms(&in_c);
        assert!((rel - 1.0).abs() < 0.01, "energy ratio {rel}");
        let p_in = goertzel(&in_c, 48_000, 1000.0);
        let p_back = goertzel(&back_c, 48_000, 1000.0);
        assert!((p_back / p_in - 1.0).abs() < 0.02, "1 kHz power ratio {}", p_back / p_in);
        // Alignment: the start-up delay is trimmed, so the round trip is nearly sample-exact.
        let err = rms(&in_c.iter().zip(&back_c).map(|(a, b)| a - b).collect::<Vec<_>>());
        assert!(err < 100.0, "round-trip error rms {err}");
    }

    #[test]
    fn output_does_not_depend_on_frame_sizes() {
        let input: Vec<i16> = sine(440.0, 48_000, 0.5, 8000.0)
            .iter()
            .zip(sine(3100.0, 48_000, 0.5, 4000.0))
            .map(|(a, b)| a.saturating_add(b))
            .collect();
        for (from, to) in [(48_000, 16_000), (16_000, 24_000), (24_000, 48_000), (44_100, 16_000)] {
            let input = &input[..(from as usize / 2).min(input.len())];
            let reference = run_chunked(&mut StreamResampler::new(from, to, 1).unwrap(), input, from, &[input.len()]);
            for sizes in [&[480][..], &[1, 7, 333, 960, 0, 5000][..], &[160, 161][..]] {
                let got = run_chunked(&mut StreamResampler::new(from, to, 1).unwrap(), input, from, sizes);
                assert_eq!(got.len(), reference.len(), "{from}->{to} {sizes:?}");
                let worst = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).max().unwrap_or(0);
                assert!(worst <= 1, "{from}->{to} {sizes:?} differs by {worst}");
            }
        }
    }

    #[test]
    fn empty_input_passthrough_and_mismatch() {
        let mut r = StreamResampler::new(48_000, 16_000, 2).unwrap();
        assert!(r.latency_samples() > 0);
        let empty = AudioFrame::new(Vec::new(), 48_000, 2).unwrap();
        assert!(r.process(&empty).unwrap().is_empty());
        assert!(r.flush().unwrap().is_empty());
        let wrong = AudioFrame::new(vec![0; 2], 16_000, 2).unwrap();
        assert!(matches!(r.process(&wrong), Err(ResampleError::FormatMismatch { .. })));
        // Stereo stays stereo, 10 ms in → about 10 ms out over a stream.
        let ten_ms = AudioFrame::silence(48_000, 2, crate::audio::frame::FramePeriod::Ms10).unwrap();
        let mut total = 0;
        for _ in 0..10 {
            total += r.process(&ten_ms).unwrap().samples_per_channel();
        }
        total += r.flush().unwrap().samples_per_channel();
        assert_eq!(total, 1600);

        let mut same = StreamResampler::new(24_000, 24_000, 1).unwrap();
        assert!(same.is_passthrough());
        assert_eq!(same.latency_samples(), 0);
        let f = AudioFrame::new(vec![1, 2, 3], 24_000, 1).unwrap();
        assert_eq!(same.process(&f).unwrap(), f);
        assert!(same.flush().unwrap().is_empty());
        assert!(StreamResampler::new(0, 16_000, 1).is_err());
        assert!(StreamResampler::new(16_000, 48_000, 0).is_err());
    }
}
