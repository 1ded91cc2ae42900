//! The voice loop: a session's audio in, the agent's audio out, and everything between —
//! VAD, STT, end of turn, the step engine's replies streamed sentence by sentence into TTS,
//! interruptions, per-turn metrics (spec: `reference/voice-pipeline.md`).
//!
//! - [`machine`]: the loop's every rule, as a sans-I/O machine on time passed in.
//! - [`driver`]: the one task per session that gives the machine its inputs and carries out
//!   what it asks, on the real clock.
//! - [`endpointing`]: where a user turn ends (VAD + STT, min 0.5 s / max 3 s).
//! - [`sentences`] and [`speakable`]: LLM text into clean sentences for TTS.
//! - [`backchannel`]: the acknowledgements that never interrupt.
//! - [`control`]: the user's app's say on turns (talk button, manual turn detection).
//! - [`playout`]: outgoing audio with the record of what was actually heard.

pub mod backchannel;
pub mod control;
pub mod driver;
pub mod endpointing;
pub mod machine;
pub mod options;
pub mod playout;
pub mod sentences;
pub mod speakable;
pub mod vad;

pub use self::driver::run;
pub use self::machine::{Ending, VoiceMachine};
pub use self::options::VoiceOptions;
