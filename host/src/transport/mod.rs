//! How a session meets its user: the console (text or WAV files) now; the LiveKit control plane
//! (rooms, dispatch, tokens) and the room client (`/rtc`, str0m peers) in [`livekit`]; direct
//! WebRTC next.

pub mod console;
pub mod livekit;
