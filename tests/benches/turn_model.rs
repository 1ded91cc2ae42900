//! The end-of-turn model, measured: how often Smart Turn v3.2 tells a finished turn from a
//! pause on labelled clips, against the VAD rule it replaces (every pause ends the turn) in the
//! same run, and what a decision costs.
//!
//! Clips: the LibriVox sentence (public domain) whole and cut mid-sentence (0.8, 1.3, 1.9 and
//! 2.4 s; labelled not done), each followed by 0.2 s of quiet as the VAD hands it over; the two
//! synthetic sentences in `turn/testdata/`; and when `espeak-ng` and `sox` are installed, six
//! more sentences in two voices (three finished, three cut off). Labels are the text's, not the
//! model's.
//!
//! Run: `cargo bench -p voiceblox-tests --bench turn_model`.

use std::path::Path;

use voiceblox_tests::audio::{espeak, librivox};
use voiceblox_tests::measure::cpu_time;
use voiceblox_turn::{SmartTurn, THRESHOLD, features::WhisperFeatures, wheel};

struct Clip {
    name: String,
    done: bool,
    audio: Vec<i16>,
}

const QUIET: usize = 3200;

fn with_quiet(mut audio: Vec<i16>) -> Vec<i16> {
    audio.extend(std::iter::repeat_n(0, QUIET));
    audio
}

fn wav(path: &Path) -> Vec<i16> {
    let reader = hound::WavReader::open(path).expect("a WAV");
    reader.into_samples().map(|s| s.expect("a sample")).collect()
}

fn clips() -> Vec<Clip> {
    let mut clips = Vec::new();
    let sentence = librivox();
    clips.push(Clip { name: "LibriVox sentence, whole".into(), done: true, audio: with_quiet(sentence.clone()) });
    for cut in [0.8, 1.3, 1.9, 2.4] {
        let audio = with_quiet(sentence[..(cut * 16_000.0) as usize].to_vec());
        clips.push(Clip { name: format!("LibriVox cut at {cut} s"), done: false, audio });
    }
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../turn/testdata");
    clips.push(Clip {
        name: "espeak: book a table (file)".into(),
        done: true,
        audio: wav(&testdata.join("espeak-book.wav")),
    });
    clips.push(Clip {
        name: "espeak: ..., um (file)".into(),
        done: false,
        audio: wav(&testdata.join("espeak-um.wav")),
    });
    let sentences = [
        ("Can you tell me what time it is?", true),
        ("Thank you, that's all I needed.", true),
        ("My account number is four four seven one.", true),
        ("So I was thinking that maybe we could", false),
        ("I went to the store and then I", false),
        ("The reason I'm calling is because", false),
    ];
    for (text, done) in sentences {
        for voice in ["en-us", "en-gb"] {
            if let Some(audio) = espeak(text, voice) {
                let mut padded = vec![0; 4800];
                padded.extend(audio);
                clips.push(Clip { name: format!("espeak {voice}: {text}"), done, audio: with_quiet(padded) });
            }
        }
    }
    clips
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let path = runtime.block_on(voiceblox_tests::models::fetched(&wheel::SMART_TURN));
    let cpu = cpu_time();
    let model = SmartTurn::load(&path).expect("loading the model");
    let load_ms = (cpu_time() - cpu) * 1000.0;

    let clips = clips();
    let (mut right, mut vad_right, mut decision_cpu) = (0, 0, 0.0);
    println!("| clip | label | p(done) | model | VAD rule |");
    println!("|---|---|---|---|---|");
    for clip in &clips {
        let cpu = cpu_time();
        let p = model.probability(&clip.audio).expect("a decision");
        decision_cpu += cpu_time() - cpu;
        let said_done = p > THRESHOLD;
        right += usize::from(said_done == clip.done);
        vad_right += usize::from(clip.done);
        let mark = |ok: bool| if ok { "right" } else { "wrong" };
        let label = if clip.done { "done" } else { "pause" };
        println!("| {} | {label} | {p:.3} | {} | {} |", clip.name, mark(said_done == clip.done), mark(clip.done));
    }
    let features = WhisperFeatures::new();
    let audio: Vec<f32> = clips[0].audio.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let cpu = cpu_time();
    for _ in 0..10 {
        std::hint::black_box(features.compute(&audio));
    }
    let features_ms = (cpu_time() - cpu) * 100.0;
    let n = clips.len();
    let decision_ms = decision_cpu * 1000.0 / n as f64;
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| clips | {n} ({} done, {} pauses) |", clips.iter().filter(|c| c.done).count(), n - vad_right);
    println!("| model right | {right} of {n} ({:.0} %) |", 100.0 * right as f64 / n as f64);
    println!(
        "| VAD rule right (baseline: every pause ends the turn) | {vad_right} of {n} ({:.0} %) |",
        100.0 * vad_right as f64 / n as f64
    );
    println!("| model / baseline | {:.2}x |", right as f64 / vad_right.max(1) as f64);
    println!("| load (read, rewrite, optimise) | {load_ms:.0} ms CPU |");
    println!("| one decision | {decision_ms:.0} ms CPU, of which features {features_ms:.1} ms |");
    println!(
        "| added to a done turn's end (decision beside the 500 ms min delay) | {:.0} ms |",
        (decision_ms - 500.0).max(0.0)
    );
}
