//! Cost of the per-frame audio path on real speech, against the real-time budget of a 20 ms
//! frame, measured in one run: the audio core (48 kHz → 16 kHz resampling + VAD) and what a
//! room adds around it (Opus decode of the user's microphone, Opus encode of the agent's
//! speech and of the DTX silence between replies).
//!
//! `cargo bench -p voiceblox-host --bench audio_frame`

use std::hint::black_box;
use std::time::{Duration, Instant};

use voiceblox_host::audio::opus::{OpusDecoder, OpusEncoder, VOICE_BITRATE};
use voiceblox_host::audio::{AudioFrame, EarshotVad, StreamResampler, Vad, VadConfig};

const ROUNDS: usize = 20;

fn main() {
    // 16k → 48k once, outside the timed loop, to get realistic 48 kHz microphone input.
    let input = voiceblox_tests::audio::librivox_48k();
    let frames: Vec<AudioFrame> =
        input.chunks_exact(960).map(|c| AudioFrame::new(c.to_vec(), 48_000, 1).expect("frame")).collect();

    // The microphone as it arrives: the speech encoded once, like a browser would.
    let mut browser = OpusEncoder::voice(VOICE_BITRATE).expect("encoder");
    let packets: Vec<Vec<u8>> = frames.iter().map(|f| browser.encode(f.samples()).expect("encode").to_vec()).collect();
    let silence = vec![0i16; 960];

    let (mut resample, mut vad_time) = (Duration::ZERO, Duration::ZERO);
    let (mut decode, mut encode, mut encode_silence) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut encode_default = Duration::ZERO;
    for _ in 0..ROUNDS {
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut agent = OpusEncoder::agent_voice(VOICE_BITRATE).expect("encoder");
        let mut quiet = OpusEncoder::agent_voice(VOICE_BITRATE).expect("encoder");
        let mut libopus_defaults = OpusEncoder::voice_with_dtx(VOICE_BITRATE).expect("encoder");
        for (frame, packet) in frames.iter().zip(&packets) {
            let t0 = Instant::now();
            black_box(decoder.decode(packet).expect("decode"));
            let t1 = Instant::now();
            black_box(agent.encode(frame.samples()).expect("encode"));
            let t2 = Instant::now();
            black_box(quiet.encode(&silence).expect("encode"));
            let t3 = Instant::now();
            black_box(libopus_defaults.encode(frame.samples()).expect("encode"));
            encode_default += t3.elapsed();
            encode_silence += t3 - t2;
            decode += t1 - t0;
            encode += t2 - t1;
        }
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
    let core = resample + vad_time;
    let room = core + decode + encode;
    for (what, total) in [
        ("resample 48k→16k", resample),
        ("VAD (earshot)", vad_time),
        ("audio core (resample + VAD)", core),
        ("Opus decode (user's microphone)", decode),
        ("Opus encode, complexity 9 (browsers)", encode_default),
        ("Opus encode (agent's speech, c5)", encode),
        ("Opus encode (silence, before DTX)", encode_silence),
        ("room: core + decode + encode", room),
    ] {
        let per = total / n;
        println!(
            "{what:<36} {:>9.2} µs {:>15.3}%",
            per.as_secs_f64() * 1e6,
            100.0 * per.as_secs_f64() / budget.as_secs_f64()
        );
    }
    let per_minute = |total: Duration| (total / n * 3000).as_secs_f64() * 1e3;
    println!(
        "CPU per minute of audio: core {:.1} ms, room while both speak {:.1} ms ({:.1}x the core); {} frames measured",
        per_minute(core),
        per_minute(room),
        room.as_secs_f64() / core.as_secs_f64(),
        n
    );
}
