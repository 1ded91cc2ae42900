//! The audio core: frames, resampling and voice activity detection, all sans-I/O.
//!
//! How a session's microphone audio flows through it:
//! 1. wrap incoming PCM in an [`AudioFrame`] (validated once: rate, channels, whole samples);
//! 2. convert it to 16 kHz mono with one [`StreamResampler`] per stream (state kept between frames,
//!    any frame size; [`StreamResampler::flush`] at end of stream);
//! 3. push the 16 kHz frames into the session's [`Vad`] with their stream time; act on the
//!    [`VadEvent`]s it returns.
//!
//! ```
//! use std::time::Duration;
//! use voiceblox_host::audio::{AudioFrame, EarshotVad, FramePeriod, StreamResampler, Vad, VadConfig};
//!
//! let mut to_16k = StreamResampler::new(48_000, 16_000, 1)?;
//! let mut vad = EarshotVad::new(VadConfig::default())?;
//! let mut now = Duration::ZERO;
//! for _ in 0..50 {
//!     let frame = AudioFrame::silence(48_000, 1, FramePeriod::Ms20)?;
//!     let frame_16k = to_16k.process(&frame)?;
//!     // The resampler's start-up delay is trimmed, so output time tracks input time.
//!     for event in vad.push(&frame_16k, now)? {
//!         println!("{event:?}");
//!     }
//!     now += frame_16k.duration();
//! }
//! assert!(!vad.is_speaking());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod frame;
pub mod incoming;
mod io;
pub mod jitter;
pub mod losses;
pub mod opus;
pub mod outgoing;
pub mod paced;
mod pool;
mod prefix;
mod resample;
pub mod vad;

pub use self::frame::{AudioFrame, FrameError, FramePeriod};
pub use self::io::{AudioEnds, AudioIo, MICROPHONE_QUEUE, SPEAKER_QUEUE};
pub use self::pool::FramePool;
pub use self::prefix::PrefixBuffer;
pub use self::resample::{ResampleError, StreamResampler, resample_stream};
pub use self::vad::{EarshotVad, SileroVad, SpeechGate, VAD_SAMPLE_RATE, Vad, VadConfig, VadError, VadEvent};
