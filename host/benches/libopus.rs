//! The codec we ship (opus-pure, pure Rust) against libopus, the C library browsers and the
//! LiveKit SDKs use, in one run on the same speech with the same settings: CPU per 20 ms frame
//! to encode (browsers' complexity 9 and the agent's 5) and to decode.
//!
//! libopus is not a build dependency of voiceblox; this bench links Debian's (`apt-get install
//! libopus-dev`) and is built only with the `libopus` feature:
//!
//! `cargo bench -p voiceblox-host --bench libopus --features libopus`

use std::ffi::c_void;
use std::hint::black_box;
use std::time::{Duration, Instant};

use voiceblox_host::audio::opus::{AGENT_COMPLEXITY, FRAME_SAMPLES, OpusDecoder, OpusEncoder, VOICE_BITRATE};

const ROUNDS: usize = 20;

mod ffi {
    use std::ffi::c_void;

    pub const APPLICATION_VOIP: i32 = 2048;
    pub const SET_BITRATE: i32 = 4002;
    pub const SET_COMPLEXITY: i32 = 4010;
    pub const SET_INBAND_FEC: i32 = 4012;
    pub const SET_PACKET_LOSS_PERC: i32 = 4014;
    pub const SET_DTX: i32 = 4016;
    pub const SET_SIGNAL: i32 = 4024;
    pub const SIGNAL_VOICE: i32 = 3001;

    #[link(name = "opus")]
    unsafe extern "C" {
        pub fn opus_encoder_create(fs: i32, channels: i32, application: i32, error: *mut i32) -> *mut c_void;
        pub fn opus_encoder_ctl(st: *mut c_void, request: i32, ...) -> i32;
        pub fn opus_encode(st: *mut c_void, pcm: *const i16, frame_size: i32, data: *mut u8, max: i32) -> i32;
        pub fn opus_encoder_destroy(st: *mut c_void);
        pub fn opus_decoder_create(fs: i32, channels: i32, error: *mut i32) -> *mut c_void;
        pub fn opus_decode(st: *mut c_void, data: *const u8, len: i32, pcm: *mut i16, frame_size: i32, fec: i32)
        -> i32;
        pub fn opus_decoder_destroy(st: *mut c_void);
        pub fn opus_get_version_string() -> *const std::ffi::c_char;
    }
}

/// libopus's encoder, set up as [`OpusEncoder`] sets up opus-pure's.
struct CEncoder(*mut c_void, Vec<u8>);

impl CEncoder {
    fn new(complexity: i32, dtx_and_voice: bool) -> Self {
        let mut error = 0;
        // SAFETY: valid arguments; the state is checked for null and freed in Drop.
        let st = unsafe { ffi::opus_encoder_create(48_000, 1, ffi::APPLICATION_VOIP, &mut error) };
        assert!(!st.is_null() && error == 0, "libopus encoder: {error}");
        // SAFETY: `st` is a live encoder; each request takes one i32.
        unsafe {
            ffi::opus_encoder_ctl(st, ffi::SET_BITRATE, VOICE_BITRATE);
            ffi::opus_encoder_ctl(st, ffi::SET_COMPLEXITY, complexity);
            ffi::opus_encoder_ctl(st, ffi::SET_INBAND_FEC, 1i32);
            ffi::opus_encoder_ctl(st, ffi::SET_PACKET_LOSS_PERC, 5i32);
            if dtx_and_voice {
                ffi::opus_encoder_ctl(st, ffi::SET_DTX, 1i32);
                ffi::opus_encoder_ctl(st, ffi::SET_SIGNAL, ffi::SIGNAL_VOICE);
            }
        }
        Self(st, vec![0; 1500])
    }

    fn encode(&mut self, pcm: &[i16]) -> &[u8] {
        // SAFETY: `pcm` holds FRAME_SAMPLES samples, the buffer its stated length.
        let n = unsafe {
            ffi::opus_encode(self.0, pcm.as_ptr(), FRAME_SAMPLES as i32, self.1.as_mut_ptr(), self.1.len() as i32)
        };
        assert!(n > 0, "libopus encode: {n}");
        &self.1[..n as usize]
    }
}

impl Drop for CEncoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_encoder_create, freed once.
        unsafe { ffi::opus_encoder_destroy(self.0) }
    }
}

struct CDecoder(*mut c_void, Vec<i16>);

impl CDecoder {
    fn new() -> Self {
        let mut error = 0;
        // SAFETY: valid arguments; checked for null, freed in Drop.
        let st = unsafe { ffi::opus_decoder_create(48_000, 1, &mut error) };
        assert!(!st.is_null() && error == 0, "libopus decoder: {error}");
        Self(st, vec![0; FRAME_SAMPLES])
    }

    fn decode(&mut self, packet: &[u8]) -> &[i16] {
        // SAFETY: the output buffer holds FRAME_SAMPLES samples.
        let n = unsafe {
            ffi::opus_decode(self.0, packet.as_ptr(), packet.len() as i32, self.1.as_mut_ptr(), FRAME_SAMPLES as i32, 0)
        };
        assert!(n > 0, "libopus decode: {n}");
        &self.1[..n as usize]
    }
}

impl Drop for CDecoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create, freed once.
        unsafe { ffi::opus_decoder_destroy(self.0) }
    }
}

fn main() {
    let input = voiceblox_tests::audio::librivox_48k();
    let frames: Vec<&[i16]> = input.chunks_exact(FRAME_SAMPLES).collect();
    // The microphone as a browser sends it (libopus, complexity 9): both decoders get these.
    let mut browser = CEncoder::new(9, false);
    let packets: Vec<Vec<u8>> = frames.iter().map(|f| browser.encode(f).to_vec()).collect();

    let mut t = [Duration::ZERO; 6];
    for _ in 0..ROUNDS {
        let (mut pure9, mut c9) = (OpusEncoder::voice(VOICE_BITRATE).expect("encoder"), CEncoder::new(9, false));
        let (mut pure5, mut c5) =
            (OpusEncoder::agent_voice(VOICE_BITRATE).expect("encoder"), CEncoder::new(AGENT_COMPLEXITY, true));
        let (mut pure_dec, mut c_dec) = (OpusDecoder::new().expect("decoder"), CDecoder::new());
        for (frame, packet) in frames.iter().zip(&packets) {
            let mut time = |slot: usize, f: &mut dyn FnMut()| {
                let start = Instant::now();
                f();
                t[slot] += start.elapsed();
            };
            time(0, &mut || {
                black_box(pure9.encode(frame).expect("encode"));
            });
            time(1, &mut || {
                black_box(c9.encode(frame));
            });
            time(2, &mut || {
                black_box(pure5.encode(frame).expect("encode"));
            });
            time(3, &mut || {
                black_box(c5.encode(frame));
            });
            time(4, &mut || {
                black_box(pure_dec.decode(packet).expect("decode"));
            });
            time(5, &mut || {
                black_box(c_dec.decode(packet));
            });
        }
    }
    let per_frame = |d: Duration| d / (ROUNDS * frames.len()) as u32;
    // SAFETY: libopus returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(ffi::opus_get_version_string()) };
    println!("LibriVox speech, {} frames x {ROUNDS} rounds; {}", frames.len(), version.to_string_lossy());
    println!("| per 20 ms frame | opus-pure | libopus | ratio |");
    println!("|---|---|---|---|");
    for (name, pure, c) in [
        ("encode, complexity 9 (browsers)", t[0], t[1]),
        ("encode, complexity 5 + DTX (the agent)", t[2], t[3]),
        ("decode (the microphone)", t[4], t[5]),
    ] {
        let (pure, c) = (per_frame(pure), per_frame(c));
        println!("| {name} | {pure:.1?} | {c:.1?} | {:.2}x |", pure.as_secs_f64() / c.as_secs_f64());
    }
}
