//! Console mode: a whole session run locally, without a room.
//!
//! - [`text`]: type the user's turns, read the agent's replies (no STT/TTS).
//! - [`wav`]: user audio from a WAV file in, the agent's audio to a WAV file out, through the
//!   full voice loop (VAD, STT, turn-taking, interruptions, TTS) in real time.

pub mod text;
pub mod wav;
