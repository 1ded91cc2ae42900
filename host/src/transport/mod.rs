//! How a session meets its user. [`link`] is the seam every transport implements (audio
//! both ways, events out, presence); the transports are the console's WAV files
//! ([`console`]) and LiveKit ([`livekit`]: the control plane apart from the room client);
//! direct WebRTC ([`direct`]: a browser and this process, no server between).
//! [`webrtc`] is the peer connection both WebRTC transports drive. Transports import neither
//! the voice loop nor the step engine.

pub mod console;
pub mod direct;
pub mod link;
pub mod livekit;
pub mod webrtc;

pub use link::{AGENT_STATE_ATTRIBUTE, CONTROL_QUEUE, LinkError, Presence, UserLink, UserSide};
