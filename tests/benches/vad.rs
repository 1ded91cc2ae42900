//! The two VADs on the same labelled speech: earshot (built in, the baseline) and Silero v6
//! (`vad: "silero"`). For every labelled utterance: how far the detected onset and offset are
//! from the label, whether it was missed or split, and what fired in the gaps between them;
//! then CPU per audio-minute, as a ratio to earshot's in the same run.
//!
//! The stream: the LibriVox sentence (public domain, labelled 0.2508-2.7739 s by hand), the two
//! synthetic sentences in `turn/testdata/`, and when `espeak-ng` and `sox` are installed twelve
//! more (six sentences, two voices; labelled from their first and last sample above the noise
//! floor, as synthetic speech starts and ends in digital silence), each between 1.2 s gaps.
//! Twice: over a quiet floor (noise of amplitude 30) and with white noise of amplitude 800
//! mixed into everything (speech included).
//!
//! Run: `cargo bench -p voiceblox-tests --bench vad`.

use std::path::Path;
use std::time::Duration;

use voiceblox_host::audio::{AudioFrame, EarshotVad, SileroVad, Vad, VadConfig, VadEvent};
use voiceblox_tests::audio::{espeak, librivox, read_wav};
use voiceblox_tests::measure::cpu_time;
use voiceblox_turn::{SileroModel, wheel};

const RATE: f64 = 16_000.0;
const GAP: usize = 19_200;

struct Labelled {
    samples: Vec<i16>,
    /// Speech spans, in seconds of the stream.
    labels: Vec<(f64, f64)>,
}

/// Deterministic uniform noise (xorshift).
fn noise(n: usize, amp: i32, mut x: u32) -> impl Iterator<Item = i16> {
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ((x % (2 * amp as u32 + 1)) as i32 - amp) as i16
    })
}

/// The first and last sample louder than the floor, in seconds of the clip.
fn span(samples: &[i16]) -> (f64, f64) {
    let loud = |s: &i16| s.unsigned_abs() > 300;
    let first = samples.iter().position(loud).unwrap_or(0);
    let last = samples.iter().rposition(loud).unwrap_or(samples.len());
    (first as f64 / RATE, last as f64 / RATE)
}

fn utterances() -> Vec<(Vec<i16>, (f64, f64))> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../turn/testdata");
    let mut clips = vec![(librivox(), (0.2508, 2.7739))];
    for file in ["espeak-book.wav", "espeak-um.wav"] {
        let samples = read_wav(testdata.join(file)).expect("a test WAV").samples;
        let label = span(&samples);
        clips.push((samples, label));
    }
    let sentences = [
        "Can you tell me what time it is?",
        "Thank you, that's all I needed.",
        "My account number is four four seven one.",
        "So I was thinking that maybe we could",
        "I went to the store and then I",
        "The reason I'm calling is because",
    ];
    for text in sentences {
        for voice in ["en-us", "en-gb"] {
            if let Some(samples) = espeak(text, voice) {
                let label = span(&samples);
                clips.push((samples, label));
            }
        }
    }
    clips
}

fn stream(clips: &[(Vec<i16>, (f64, f64))], noise_amp: i32) -> Labelled {
    let mut samples: Vec<i16> = vec![0; GAP];
    let mut labels = Vec::new();
    for (clip, (from, to)) in clips {
        let at = samples.len() as f64 / RATE;
        labels.push((at + from, at + to));
        samples.extend(clip);
        samples.extend(std::iter::repeat_n(0, GAP));
    }
    for (s, n) in samples.iter_mut().zip(noise(usize::MAX, noise_amp, 17)) {
        *s = s.saturating_add(n);
    }
    Labelled { samples, labels }
}

/// Segments found and the CPU seconds it took, fed in 20 ms frames as the voice loop does.
fn run(vad: &mut dyn Vad, samples: &[i16]) -> (Vec<(f64, f64)>, f64) {
    let frames: Vec<AudioFrame> =
        samples.chunks_exact(320).map(|c| AudioFrame::new(c.to_vec(), 16_000, 1).expect("a frame")).collect();
    let mut segments = Vec::new();
    let mut start = None;
    let cpu = cpu_time();
    for (i, frame) in frames.iter().enumerate() {
        for event in vad.push(frame, Duration::from_millis(20 * i as u64)).expect("VAD input") {
            match event {
                VadEvent::SpeechStarted { at, .. } => start = Some(at.as_secs_f64()),
                VadEvent::SpeechEnded { at } => segments.extend(start.take().map(|s| (s, at.as_secs_f64()))),
            }
        }
    }
    let cpu = cpu_time() - cpu;
    segments.extend(start.map(|s| (s, samples.len() as f64 / RATE)));
    (segments, cpu)
}

#[derive(Default)]
struct Score {
    onset_ms: Vec<f64>,
    offset_ms: Vec<f64>,
    missed: usize,
    split: usize,
    false_alarms: usize,
}

fn score(found: &[(f64, f64)], labels: &[(f64, f64)]) -> Score {
    let mut score = Score::default();
    let overlaps = |seg: &(f64, f64), label: &(f64, f64)| seg.0 < label.1 + 0.3 && seg.1 > label.0 - 0.3;
    for label in labels {
        let hits: Vec<&(f64, f64)> = found.iter().filter(|seg| overlaps(seg, label)).collect();
        match (hits.first(), hits.last()) {
            (Some(first), Some(last)) => {
                score.onset_ms.push((first.0 - label.0) * 1000.0);
                score.offset_ms.push((last.1 - label.1) * 1000.0);
                score.split += hits.len() - 1;
            }
            _ => score.missed += 1,
        }
    }
    score.false_alarms = found.iter().filter(|seg| !labels.iter().any(|label| overlaps(seg, label))).count();
    score
}

fn mean_abs(values: &[f64]) -> f64 {
    values.iter().map(|v| v.abs()).sum::<f64>() / values.len().max(1) as f64
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let path = runtime.block_on(voiceblox_tests::models::fetched(&wheel::SILERO_VAD));
    let cpu = cpu_time();
    let model = SileroModel::load(&path).expect("loading the Silero VAD");
    let load_ms = (cpu_time() - cpu) * 1000.0;
    let clips = utterances();
    println!("{} labelled utterances; Silero load {load_ms:.0} ms CPU", clips.len());
    println!();
    println!(
        "| floor | VAD | onset error (mean abs / mean, ms) | offset error (mean abs / mean, ms) | missed | split | false alarms | CPU ms per audio-minute | vs earshot |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (floor, amp) in [("quiet", 30), ("noise 800", 800)] {
        let labelled = stream(&clips, amp);
        let minutes = labelled.samples.len() as f64 / RATE / 60.0;
        let mut baseline = None;
        for name in ["earshot", "silero"] {
            let mut vad: Box<dyn Vad> = match name {
                "earshot" => Box::new(EarshotVad::new(VadConfig::default()).expect("earshot")),
                _ => Box::new(SileroVad::new(&model, VadConfig::default()).expect("silero")),
            };
            // Best of three: the machine is shared.
            let mut best = f64::MAX;
            let mut found = Vec::new();
            for _ in 0..3 {
                vad.reset();
                let (segments, cpu) = run(vad.as_mut(), &labelled.samples);
                best = best.min(cpu);
                found = segments;
            }
            let per_minute = best * 1000.0 / minutes;
            let base = *baseline.get_or_insert(per_minute);
            let s = score(&found, &labelled.labels);
            println!(
                "| {floor} | {name} | {:.0} / {:+.0} | {:.0} / {:+.0} | {} | {} | {} | {per_minute:.1} | {:.2}x |",
                mean_abs(&s.onset_ms),
                mean(&s.onset_ms),
                mean_abs(&s.offset_ms),
                mean(&s.offset_ms),
                s.missed,
                s.split,
                s.false_alarms,
                per_minute / base,
            );
        }
    }
}
