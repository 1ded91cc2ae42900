//! Console mode: a whole session run locally, without a room.
//!
//! - [`wav`]: the user's audio played from a WAV file in real time, the agent's audio written
//!   to a WAV file on the same timeline.
//!
//! (The text console, lines in and words out, is a session of its own: `crate::agent::text`.)

pub mod wav;
