//! What the per-frame audio path of a call costs the allocator, in steady state: the
//! microphone (Opus packet in → jitter buffer → decoder → the 20 ms frame handed to the voice
//! loop) and the agent's track (a 20 ms frame → Opus packet handed to the transport).
//!
//! Ours: none per received frame (the jitter buffer is a ring; a frame's buffer comes back to the
//! call's pool when the voice loop drops it) and none per sent packet. The decoder works in its
//! own buffers; opus-pure's encoder allocates a few small temporaries per frame itself (measured
//! here, ~6), which the track adds nothing to, and so does its packet-loss concealment.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use voiceblox_host::audio::AudioFrame;
use voiceblox_host::audio::incoming::IncomingVoice;
use voiceblox_host::audio::opus::{FRAME_SAMPLES, OpusDecoder, OpusEncoder, VOICE_BITRATE};
use voiceblox_host::audio::paced::PacedVoice;

/// Counts this thread's allocations (tests run on threads of their own).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn speech() -> Vec<i16> {
    (0..FRAME_SAMPLES).map(|i| ((i as f64 * 220.0 * std::f64::consts::TAU / 48_000.0).sin() * 9000.0) as i16).collect()
}

const FRAME: Duration = Duration::from_millis(20);

#[test]
fn the_microphone_allocates_nothing_per_frame() {
    // A speech encoder stays in one Opus mode here (the decoder allocates on a mode switch,
    // hybrid to CELT say: 7 small allocations inside opus-pure, once per switch).
    let mut encoder = OpusEncoder::agent_voice(VOICE_BITRATE).unwrap();
    let pcm = speech();
    // The packets as they come off the wire (the transport already holds each in an Arc).
    let packets: Vec<Arc<[u8]>> = (0..400).map(|_| Arc::from(encoder.encode(&pcm).unwrap())).collect();
    let mut voice = IncomingVoice::new().unwrap();
    let t0 = Instant::now();
    // The voice loop holds a few frames at a time (its queue), then drops them.
    let mut held: std::collections::VecDeque<AudioFrame> = std::collections::VecDeque::with_capacity(8);
    let (mut frames, mut loud) = (0, 0);
    let mut counted = 0;
    let mut packets: Vec<Option<Arc<[u8]>>> = packets.into_iter().map(Some).collect();
    for i in 0..packets.len() {
        let now = t0 + FRAME * i as u32;
        // Steady state only: the first second warms the jitter buffer, the decoder and the pool up.
        let before = allocations();
        // Every 10th packet arrives after the one behind it (reordered within the delay).
        let order: &[usize] = match i % 10 {
            8 => &[],
            9 => &[i, i - 1],
            _ => &[i],
        };
        for &n in order {
            if let Some(packet) = packets[n].take() {
                voice.push(n as u64, packet, now);
            }
        }
        voice.poll(now, |frame| {
            frames += 1;
            loud += usize::from(frame.samples().iter().any(|s| s.unsigned_abs() > 1000));
            if held.len() == 4 {
                held.pop_front();
            }
            held.push_back(frame);
        });
        if i >= 50 {
            counted += allocations() - before;
        }
    }
    assert!(frames >= 390 && loud >= 380, "{frames} frames, {loud} with the tone");
    assert_eq!(voice.jitter_stats().lost, 0);
    assert_eq!(counted, 0, "allocations over 350 received frames");
}

/// Decoding a received packet allocates nothing (concealing a lost one does, inside opus-pure's
/// packet-loss concealment: rare by nature).
#[test]
fn the_decoder_allocates_nothing_per_packet() {
    let packet = OpusEncoder::voice(VOICE_BITRATE).unwrap().encode(&speech()).unwrap().to_vec();
    let mut decoder = OpusDecoder::new().unwrap();
    decoder.decode(&packet).unwrap();
    let before = allocations();
    for _ in 0..100 {
        decoder.decode(&packet).unwrap();
    }
    assert_eq!(allocations() - before, 0);
}

/// The allocations opus-pure's encoder makes per 20 ms frame on its own.
fn encoder_allocations_per_frame() -> f64 {
    let mut encoder = OpusEncoder::agent_voice(VOICE_BITRATE).unwrap();
    let (pcm, silence) = (speech(), vec![0i16; FRAME_SAMPLES]);
    for _ in 0..50 {
        encoder.encode(&pcm).unwrap();
    }
    let before = allocations();
    for i in 0..100 {
        encoder.encode(if i % 2 == 0 { &pcm } else { &silence }).unwrap();
    }
    (allocations() - before) as f64 / 100.0
}

#[test]
fn the_agents_track_adds_no_allocation_to_the_encoders() {
    let mut voice = PacedVoice::new(0).unwrap();
    let frame = AudioFrame::new(speech(), 48_000, 1).unwrap();
    let t0 = Instant::now();
    let mut sent = 0usize;
    let mut counted = 0;
    for i in 0..400u32 {
        let now = t0 + FRAME * i;
        let before = allocations();
        if i % 100 < 60 {
            voice.speech(&frame, now, |packet| {
                sent += packet.payload.len().min(1);
                Ok::<(), std::convert::Infallible>(())
            });
        } else {
            voice.poll(now, true, |packet| {
                sent += packet.payload.len().min(1);
                Ok::<(), std::convert::Infallible>(())
            });
        }
        if i >= 50 {
            counted += allocations() - before;
        } else {
            sent = 0;
        }
    }
    assert!(sent > 200, "{sent} packets");
    let per_packet = counted as f64 / sent as f64;
    let codec = encoder_allocations_per_frame();
    // Between talkspurts the track pauses in DTX and encodes nothing, so it may come out below.
    assert!(per_packet <= codec * 1.1, "{per_packet} allocations per packet; the encoder alone makes {codec}");
}
