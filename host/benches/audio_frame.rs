//! Cost of the per-frame audio path (48 kHz → 16 kHz resampling + VAD) on real speech, against
//! the real-time budget of a 20 ms frame, measured in one run.
//!
//! `cargo bench -p voiceblox-host --bench audio_frame`

use std::hint::black_box;
use std::time::{Duration, Instant};

use voiceblox_host::audio::{AudioFrame, EarshotVad, StreamResampler, Vad, VadConfig};

const ROUNDS: usize = 20;

fn main() {
    let wav = &include_bytes!("../src/audio/testdata/librivox-sense-0880.wav")[..];
    let reader = hound::WavReader::new(std::io::Cursor::new(wav)).expect("valid WAV");
    let speech: Vec<i16> = reader.into_samples::<i16>().collect::<Result<_, _>>().expect("s16");
    // 16k → 48k once, outside the timed loop, to get realistic 48 kHz microphone input.
    let mut up = StreamResampler::new(16_000, 48_000, 1).expect("rates");
    let mut input = up.process(&AudioFrame::new(speech, 16_000, 1).expect("frame")).expect("up").into_samples();
    input.extend(up.flush().expect("flush").samples());
    let frames: Vec<AudioFrame> =
        input.chunks_exact(960).map(|c| AudioFrame::new(c.to_vec(), 48_000, 1).expect("frame")).collect();

    let (mut resample, mut vad_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let mut down = StreamResampler::new(48_000, 16_000, 1).expect("rates");
        let mut vad = EarshotVad::new(VadConfig::default()).expect("config");
        let mut now = Duration::ZERO;
        for frame in &frames {
            let t0 = Instant::now();
            let frame_16k = down.process(frame).expect("resample");
            let t1 = Instant::now();
            black_box(vad.push(&frame_16k, now).expect("vad"));
            vad_time += t1.elapsed();
            resample += t1 - t0;
            now += frame_16k.duration();
        }
    }
    let n = (ROUNDS * frames.len()) as u32;
    let budget = Duration::from_millis(20);
    println!("{:<36} {:>12} {:>16}", "per 20 ms frame", "time", "share of 20 ms");
    for (what, total) in [("resample 48k→16k", resample), ("VAD (earshot)", vad_time), ("total", resample + vad_time)]
    {
        let per = total / n;
        println!(
            "{what:<36} {:>9.2} µs {:>15.3}%",
            per.as_secs_f64() * 1e6,
            100.0 * per.as_secs_f64() / budget.as_secs_f64()
        );
    }
    let cpu_per_minute = (resample + vad_time) / n * 3000;
    println!("CPU per minute of audio: {:.1} ms ({} frames measured)", cpu_per_minute.as_secs_f64() * 1e3, n);
}
