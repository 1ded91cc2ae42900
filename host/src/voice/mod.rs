//! The voice loop: a session's audio in, the agent's audio out, and everything between —
//! VAD, STT, end of turn, the step engine's replies streamed sentence by sentence into TTS,
//! interruptions, per-turn metrics (spec: `reference/voice-pipeline.md`).
//!
//! - [`endpointing`]: where a user turn ends (VAD + STT, min 0.5 s / max 3 s).
//! - [`sentences`] and [`speakable`]: LLM text into clean sentences for TTS.
//! - [`playout`]: outgoing audio with the record of what was actually heard.
//! - [`session`]: the loop itself, one task per session.

pub mod endpointing;
pub mod options;
pub mod playout;
pub mod sentences;
pub mod session;
pub mod speakable;

pub use self::options::VoiceOptions;
pub use self::session::{Ending, VoiceIo, run};
