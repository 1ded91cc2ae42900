//! Console mode: a whole session run locally, without a room.
//!
//! - [`wav`]: the console as a session's user side: the user's audio played from a WAV file in
//!   real time, the agent's audio written to a WAV file on the same timeline, events as JSON
//!   lines. The agent runs on it exactly as in a room.
//!
//! (The text console, lines in and words out, is a session of its own: `crate::agent::text`.)

pub mod wav;
