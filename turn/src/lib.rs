//! A local end-of-turn model: [Smart Turn v3.2](https://github.com/pipecat-ai/smart-turn)
//! (Daily, BSD-2-Clause), run on CPU by tract in pure Rust.
//!
//! Given the last 8 s of a user's audio at the moment they stopped speaking, it says how
//! likely they are done (rather than pausing mid-thought). The weights ship in the PyPI package
//! `pipecat-ai` ([`wheel`]); the graph is rewritten at load time ([`onnx_rewrite`]) so tract
//! computes the int8 network exactly; [`features`] makes the Whisper log-mel input it was
//! trained on.
//!
//! ```no_run
//! # fn main() -> Result<(), voiceblox_turn::TurnModelError> {
//! let model = voiceblox_turn::SmartTurn::load(std::path::Path::new("smart-turn-v3.2-cpu.onnx"))?;
//! let audio = vec![0i16; 16_000]; // 16 kHz mono, ending where the speech ended
//! let done = model.probability(&audio)? > voiceblox_turn::THRESHOLD;
//! # Ok(()) }
//! ```

pub mod features;
pub mod onnx_rewrite;
mod smart_turn;
pub mod wheel;

pub use self::smart_turn::{SmartTurn, THRESHOLD, TurnModelError};
