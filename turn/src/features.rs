//! Whisper-style log-mel features for Smart Turn v3.
//!
//! Follows pipecat 1.14.0's `pipecat/audio/turn/smart_turn/_whisper_features.py` (BSD-2-Clause,
//! Daily; portions derived from Hugging Face Transformers' `feature_extraction_whisper.py` and
//! `audio_utils.py`, Apache-2.0), including the caller-side windowing of pipecat's
//! `LocalSmartTurnAnalyzerV3`; the model was trained on exactly these features:
//!
//! 1. keep the LAST 8 s of 16 kHz audio, zero-padding at the START if shorter;
//! 2. zero-mean / unit-variance normalise the 8 s waveform (`do_normalize=True`), in f32;
//! 3. centred STFT: reflect-pad 200 samples each side, periodic Hann(400), hop 160, |rFFT|^2, f64;
//! 4. Slaney-scale, Slaney-normalised 80-band mel filterbank over 0..8 kHz (f64);
//! 5. `log10(max(mel, 1e-10))`, drop the last of the 801 frames, clamp to `global_max - 8`,
//!    then `(x + 4) / 4`, cast to f32.
//!
//! Output layout is `[80][800]` row-major (mel band major), i.e. the model's `[1, 80, 800]`.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

pub const SAMPLE_RATE: usize = 16_000;
pub const N_FFT: usize = 400;
pub const HOP: usize = 160;
pub const N_MELS: usize = 80;
/// 8 s of audio at 16 kHz.
pub const N_SAMPLES: usize = 8 * SAMPLE_RATE;
/// Frames fed to the model (801 STFT frames, the trailing one dropped).
pub const N_FRAMES: usize = N_SAMPLES / HOP;

const N_BINS: usize = N_FFT / 2 + 1;
const MEL_FLOOR: f64 = 1e-10;
const NORM_VARIANCE_EPS: f32 = 1e-7;

/// Precomputed window, filterbank and FFT plan. Build once, reuse for every decision.
pub struct WhisperFeatures {
    window: Vec<f64>,
    /// `[N_MELS][N_BINS]`, row-major.
    mel_filters: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl Default for WhisperFeatures {
    fn default() -> Self {
        Self::new()
    }
}

impl WhisperFeatures {
    pub fn new() -> Self {
        // Periodic Hann (torch.hann_window / np.hanning(N + 1)[:-1]).
        let window =
            (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()).collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Self { window, mel_filters: mel_filterbank(), fft }
    }

    /// Features for the end of an utterance: `audio` is 16 kHz mono in [-1, 1] (int16 / 32768),
    /// any length. Returns `N_MELS * N_FRAMES` values, mel-band major.
    pub fn compute(&self, audio: &[f32]) -> Vec<f32> {
        let mut x = last_8s(audio);
        normalize(&mut x);
        self.log_mel(&x)
    }

    /// Log-mel of exactly `N_SAMPLES` already-normalised samples.
    fn log_mel(&self, x: &[f32]) -> Vec<f32> {
        debug_assert_eq!(x.len(), N_SAMPLES);
        let pad = N_FFT / 2;
        let padded = reflect_pad(x, pad);
        let n_frames = 1 + (padded.len() - N_FFT) / HOP; // 801

        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f64; N_BINS];
        // log10(mel), [N_MELS][N_FRAMES]; the 801st frame is dropped, as upstream.
        let mut log_spec = vec![0f64; N_MELS * N_FRAMES];
        let mut max = f64::NEG_INFINITY;
        for t in 0..n_frames.min(N_FRAMES) {
            let start = t * HOP;
            for ((f, &s), &w) in frame.iter_mut().zip(&padded[start..start + N_FFT]).zip(&self.window) {
                *f = s * w;
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("FFT buffers sized by the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = norm_sqr(c);
            }
            for m in 0..N_MELS {
                let row = &self.mel_filters[m * N_BINS..(m + 1) * N_BINS];
                let e: f64 = row.iter().zip(&power).map(|(a, b)| a * b).sum();
                let v = e.max(MEL_FLOOR).log10();
                max = max.max(v);
                log_spec[m * N_FRAMES + t] = v;
            }
        }
        let floor = max - 8.0;
        log_spec.iter().map(|&v| ((v.max(floor) + 4.0) / 4.0) as f32).collect()
    }
}

fn norm_sqr(c: &Complex<f64>) -> f64 {
    c.re * c.re + c.im * c.im
}

/// Keep the last 8 s; zero-pad at the start if shorter (pipecat's
/// `truncate_audio_to_last_n_seconds`).
pub fn last_8s(audio: &[f32]) -> Vec<f32> {
    if audio.len() >= N_SAMPLES {
        audio[audio.len() - N_SAMPLES..].to_vec()
    } else {
        let mut v = vec![0f32; N_SAMPLES - audio.len()];
        v.extend_from_slice(audio);
        v
    }
}

/// `(x - mean) / sqrt(var + 1e-7)`, in f32 like numpy on a float32 buffer (statistics are
/// accumulated in f64, which only changes the last bit).
fn normalize(x: &mut [f32]) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let (mean, std) = (mean as f32, (var as f32 + NORM_VARIANCE_EPS).sqrt());
    for v in x {
        *v = (*v - mean) / std;
    }
}

/// numpy `mode="reflect"` padding (edge sample not repeated), promoted to f64.
fn reflect_pad(x: &[f32], pad: usize) -> Vec<f64> {
    let n = x.len();
    assert!(n > pad);
    let mut out = Vec::with_capacity(n + 2 * pad);
    out.extend((1..=pad).rev().map(|i| x[i] as f64));
    out.extend(x.iter().map(|&v| v as f64));
    out.extend((0..pad).map(|i| x[n - 2 - i] as f64));
    out
}

fn hz_to_mel_slaney(f: f64) -> f64 {
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = 15.0;
    if f >= MIN_LOG_HZ { MIN_LOG_MEL + (f / MIN_LOG_HZ).ln() * (27.0 / 6.4f64.ln()) } else { 3.0 * f / 200.0 }
}

fn mel_to_hz_slaney(m: f64) -> f64 {
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = 15.0;
    if m >= MIN_LOG_MEL { MIN_LOG_HZ * ((6.4f64.ln() / 27.0) * (m - MIN_LOG_MEL)).exp() } else { 200.0 * m / 3.0 }
}

/// numpy `linspace(start, stop, n)` (endpoint included, same rounding as numpy).
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
    v[n - 1] = stop;
    v
}

/// Slaney-scale triangular filters with Slaney area normalisation, `[N_MELS][N_BINS]`
/// (transformers' `mel_filter_bank(norm="slaney", mel_scale="slaney")`, 0 Hz .. 8 kHz).
fn mel_filterbank() -> Vec<f64> {
    let mel_min = hz_to_mel_slaney(0.0);
    let mel_max = hz_to_mel_slaney(SAMPLE_RATE as f64 / 2.0);
    let filter_freqs: Vec<f64> = linspace(mel_min, mel_max, N_MELS + 2).into_iter().map(mel_to_hz_slaney).collect();
    let fft_freqs = linspace(0.0, (SAMPLE_RATE / 2) as f64, N_BINS);
    let mut out = vec![0f64; N_MELS * N_BINS];
    for m in 0..N_MELS {
        let (lo, mid, hi) = (filter_freqs[m], filter_freqs[m + 1], filter_freqs[m + 2]);
        let enorm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let down = -(lo - f) / (mid - lo);
            let up = (hi - f) / (hi - mid);
            out[m * N_BINS + k] = 0f64.max(down.min(up)) * enorm;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_pad_matches_numpy() {
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(reflect_pad(&x, 2), vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0]);
    }

    #[test]
    fn short_audio_is_padded_at_the_start() {
        let v = last_8s(&[1.0; 10]);
        assert_eq!(v.len(), N_SAMPLES);
        assert_eq!(v[N_SAMPLES - 11], 0.0);
        assert_eq!(v[N_SAMPLES - 10], 1.0);
    }

    #[test]
    fn silence_is_flat() {
        let f = WhisperFeatures::new().compute(&[0.0; 1000]);
        assert_eq!(f.len(), N_MELS * N_FRAMES);
        // log10(1e-10) = -10 everywhere, so (x + 4) / 4 = -1.5.
        assert!(f.iter().all(|&v| (v + 1.5).abs() < 1e-6));
    }
}
