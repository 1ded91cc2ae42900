//! How a session meets its user: the console (text or WAV files) now; the LiveKit control plane
//! (rooms, dispatch, tokens) in [`livekit`]; the LiveKit room client and direct WebRTC next.

pub mod console;
pub mod livekit;
