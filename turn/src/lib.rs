//! Local speech models for voiceblox, run on CPU by tract in pure Rust:
//!
//! - [`SmartTurn`]: the end-of-turn model [Smart Turn v3.2](https://github.com/pipecat-ai/smart-turn)
//!   (Daily, BSD-2-Clause). Given the last 8 s of a user's audio at the moment they stopped
//!   speaking, it says how likely they are done (rather than pausing mid-thought). Its graph is
//!   rewritten at load time ([`onnx_rewrite`]) so tract computes the int8 network exactly;
//!   [`features`] makes the Whisper log-mel input it was trained on.
//! - [`SileroModel`]: Silero VAD v6 (MIT), a speech probability per 32 ms of a stream.
//!
//! The weights ship in PyPI packages, pinned with their SHA-256 ([`wheel`]).
//!
//! ```no_run
//! # fn main() -> Result<(), voiceblox_turn::ModelError> {
//! let model = voiceblox_turn::SmartTurn::load(std::path::Path::new("smart-turn-v3.2-cpu.onnx"))?;
//! let audio = vec![0i16; 16_000]; // 16 kHz mono, ending where the speech ended
//! let done = model.probability(&audio)? > voiceblox_turn::THRESHOLD;
//! # Ok(()) }
//! ```

mod error;
pub mod features;
pub mod onnx_rewrite;
mod plan;
mod silero;
mod smart_turn;
pub mod wheel;

pub use self::error::ModelError;
pub use self::silero::{CHUNK as SILERO_CHUNK, SileroModel, SileroStream};
pub use self::smart_turn::{SmartTurn, THRESHOLD};
