//! [`EarshotVad`]: the default backend, the pure-Rust `earshot` network (weights compiled in, no
//! model files), scoring 256-sample (16 ms) windows of 16 kHz mono s16 audio.

use std::time::Duration;

use super::{SpeechGate, VAD_SAMPLE_RATE, Vad, VadConfig, VadError, VadEvent};
use crate::audio::frame::AudioFrame;

/// Samples per earshot window: 16 ms at 16 kHz, fixed by the model.
const WINDOW: usize = 256;
const WINDOW_LEN: Duration = Duration::from_millis(16);

/// Earshot-backed [`Vad`] for one session (~8 KiB of model state, kept on the heap).
pub struct EarshotVad {
    detector: Box<::earshot::Detector>,
    gate: SpeechGate,
    /// Samples waiting for a full window.
    pending: Vec<i16>,
}

impl std::fmt::Debug for EarshotVad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarshotVad").field("gate", &self.gate).field("pending", &self.pending.len()).finish()
    }
}

impl EarshotVad {
    /// A silent detector with `config`, refused if its thresholds are invalid.
    pub fn new(config: VadConfig) -> Result<Self, VadError> {
        config.validate()?;
        Ok(Self {
            detector: ::earshot::Detector::default_boxed(),
            gate: SpeechGate::new(config),
            pending: Vec::with_capacity(WINDOW * 2),
        })
    }
}

impl Vad for EarshotVad {
    fn name(&self) -> &'static str {
        "earshot"
    }

    fn push(&mut self, frame: &AudioFrame, now: Duration) -> Result<Vec<VadEvent>, VadError> {
        if frame.sample_rate() != VAD_SAMPLE_RATE {
            return Err(VadError::WrongSampleRate(frame.sample_rate()));
        }
        // Samples carried over from the previous push started before `now`.
        let carried = Duration::from_micros(self.pending.len() as u64 * 1_000_000 / u64::from(VAD_SAMPLE_RATE));
        let mut start = now.saturating_sub(carried);
        if frame.channels() == 1 {
            self.pending.extend_from_slice(frame.samples());
        } else {
            self.pending.extend_from_slice(frame.to_mono().samples());
        }
        let mut events = Vec::new();
        let mut windows = self.pending.chunks_exact(WINDOW);
        for window in &mut windows {
            // earshot returns -1 only for a wrong window length, which chunks_exact rules out.
            let p = self.detector.predict_i16(window);
            events.extend(self.gate.push(p, start, WINDOW_LEN));
            start += WINDOW_LEN;
        }
        let rest = windows.remainder().len();
        let used = self.pending.len() - rest;
        self.pending.drain(..used);
        Ok(events)
    }

    fn probability(&self) -> f32 {
        self.gate.probability()
    }

    fn is_speaking(&self) -> bool {
        self.gate.is_speaking()
    }

    fn reset(&mut self) {
        self.detector.reset();
        self.gate.reset();
        self.pending.clear();
    }

    fn config(&self) -> &VadConfig {
        self.gate.config()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::frame::FramePeriod;

    /// Real human speech, public domain (see `testdata/README.md`): speech 0.2508 s – 2.7739 s.
    const SPEECH_WAV: &[u8] = include_bytes!("../testdata/librivox-sense-0880.wav");
    const SPEECH_FROM: f64 = 0.2508;
    const SPEECH_TO: f64 = 2.7739;

    fn read_wav(bytes: &[u8]) -> (Vec<i16>, u32, u16) {
        let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).expect("valid WAV");
        let spec = reader.spec();
        let samples = reader.into_samples::<i16>().collect::<Result<Vec<_>, _>>().expect("s16 samples");
        (samples, spec.sample_rate, spec.channels)
    }

    /// Feeds 16 kHz mono samples in 20 ms frames; returns events and the speaking flag per frame.
    fn run(vad: &mut dyn Vad, samples: &[i16]) -> (Vec<VadEvent>, Vec<bool>) {
        let mut events = Vec::new();
        let mut speaking = Vec::new();
        let per = FramePeriod::Ms20.samples_per_channel(16_000).unwrap();
        for (i, chunk) in samples.chunks(per).enumerate() {
            let frame = AudioFrame::new(chunk.to_vec(), 16_000, 1).unwrap();
            events.extend(vad.push(&frame, FramePeriod::Ms20.duration() * i as u32).unwrap());
            speaking.push(vad.is_speaking());
        }
        (events, speaking)
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    /// Deterministic low-level noise (xorshift), to pad recordings with non-digital silence.
    fn noise(n: usize, amp: i16, seed: u32) -> Vec<i16> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                ((x % (2 * amp as u32 + 1)) as i32 - i32::from(amp)) as i16
            })
            .collect()
    }

    /// Speech found where it is, padding not flagged, one onset/offset pair around the sentence.
    fn check_speech(samples: Vec<i16>, speech_from: f64, speech_to: f64) {
        let pad = 16_000;
        let mut signal = noise(pad, 30, 7);
        signal.extend_from_slice(&samples);
        signal.extend(noise(pad, 30, 11));
        let (from, to) = (speech_from + 1.0, speech_to + 1.0);
        let mut vad = EarshotVad::new(VadConfig::default()).unwrap();
        let (events, _) = run(&mut vad, &signal);
        let starts: Vec<f64> = events
            .iter()
            .filter_map(|e| match e {
                VadEvent::SpeechStarted { at, .. } => Some(secs(*at)),
                _ => None,
            })
            .collect();
        let ends: Vec<f64> = events
            .iter()
            .filter_map(|e| match e {
                VadEvent::SpeechEnded { at } => Some(secs(*at)),
                _ => None,
            })
            .collect();
        assert!(!starts.is_empty() && starts.len() == ends.len(), "{events:?}");
        assert!((starts[0] - from).abs() < 0.15, "first onset {} vs label {from}: {events:?}", starts[0]);
        let last = ends[ends.len() - 1];
        assert!((last - to).abs() < 0.3, "last offset {last} vs label {to}: {events:?}");
        // Nothing flagged in the padding.
        assert!(starts.iter().all(|&s| s >= from - 0.15) && ends.iter().all(|&e| e <= to + 0.3), "{events:?}");
        assert!(!vad.is_speaking());
    }

    #[test]
    fn real_speech_recording_is_found_and_padding_is_not() {
        let (samples, rate, channels) = read_wav(SPEECH_WAV);
        assert_eq!((rate, channels), (16_000, 1));
        check_speech(samples, SPEECH_FROM, SPEECH_TO);
    }

    /// Runs on any speech WAV given in `VOICEBLOX_SPEECH_WAV` (16 kHz mono s16), checking only
    /// that speech is found and the padded silence is not; skipped when the variable is unset.
    #[test]
    fn speech_wav_from_env() {
        let Some(path) = std::env::var_os("VOICEBLOX_SPEECH_WAV") else {
            eprintln!("VOICEBLOX_SPEECH_WAV unset; skipping");
            return;
        };
        let bytes = std::fs::read(&path).expect("readable VOICEBLOX_SPEECH_WAV");
        let (samples, rate, channels) = read_wav(&bytes);
        assert_eq!((rate, channels), (16_000, 1), "VOICEBLOX_SPEECH_WAV must be 16 kHz mono");
        let mut vad = EarshotVad::new(VadConfig::default()).unwrap();
        let mut signal = vec![0; 16_000];
        signal.extend_from_slice(&samples);
        signal.extend(vec![0; 16_000]);
        let (events, speaking) = run(&mut vad, &signal);
        assert!(
            matches!(events.first(), Some(VadEvent::SpeechStarted { at, .. }) if *at >= Duration::from_millis(900))
        );
        // The first second is digital silence: 50 frames of 20 ms.
        assert!(speaking[..45].iter().all(|s| !s));
        assert!(!vad.is_speaking());
    }

    #[test]
    fn silence_and_noise_are_not_speech() {
        let mut vad = EarshotVad::new(VadConfig::default()).unwrap();
        let mut signal = vec![0; 16_000];
        signal.extend(noise(32_000, 300, 3));
        let (events, _) = run(&mut vad, &signal);
        assert!(events.is_empty(), "{events:?}");
        assert!(vad.probability() < 0.5);
    }

    #[test]
    fn timing_holds_for_any_frame_size_and_rejects_wrong_rate() {
        let (samples, _, _) = read_wav(SPEECH_WAV);
        let mut a = EarshotVad::new(VadConfig::default()).unwrap();
        let (reference, _) = run(&mut a, &samples);
        // Odd frame sizes: windows straddle pushes, times must still line up.
        let mut b = EarshotVad::new(VadConfig::default()).unwrap();
        let mut events = Vec::new();
        let mut pos = 0;
        for (i, n) in [1usize, 100, 333, 17, 4000].iter().cycle().enumerate() {
            if pos >= samples.len() {
                break;
            }
            let n = (*n).min(samples.len() - pos);
            let f = AudioFrame::new(samples[pos..pos + n].to_vec(), 16_000, 1).unwrap();
            let now = Duration::from_micros(pos as u64 * 1_000_000 / 16_000);
            events.extend(b.push(&f, now).unwrap());
            pos += n;
            let _ = i;
        }
        assert_eq!(events, reference);
        let f48 = AudioFrame::silence(48_000, 1, FramePeriod::Ms20).unwrap();
        assert_eq!(b.push(&f48, Duration::ZERO), Err(VadError::WrongSampleRate(48_000)));
        let bad = VadConfig { activation_threshold: 0.3, ..VadConfig::default() };
        assert!(EarshotVad::new(bad).is_err());
        b.reset();
        assert!(!b.is_speaking());
    }
}
