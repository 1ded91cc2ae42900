//! How a session meets its user: the console (text or WAV files) now; LiveKit and direct
//! WebRTC next.

pub mod console;
