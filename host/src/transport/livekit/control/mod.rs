//! LiveKit's control plane: what a server needs before any media flows, apart from the room
//! client. Twirp `RoomService` and `AgentDispatchService` through `livekit-api`
//! ([`ControlPlane`]), access tokens ([`token`]), room and identity names ([`names`]).

pub mod error;
pub mod names;
pub mod sealed;
pub mod service;
pub mod token;

pub use error::ControlError;
pub use names::{ROOM_PREFIX, room_name, user_identity};
pub use service::{AGENT_NAME, ControlPlane};
pub use token::{AGENT_TOKEN_TTL, BROWSER_TOKEN_TTL, agent_token, browser_token};
