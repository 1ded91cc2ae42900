//! LiveKit's control plane: what a server needs before any media flows (DESIGN decision 5).
//!
//! - [`LiveKitCredentials`]: the project URL, API key and secret, from the environment or given.
//! - [`ControlPlane`]: Twirp `RoomService` (create/delete rooms) and `AgentDispatchService`
//!   (dispatch the `voiceblox` agent to a room) through `livekit-api`, with typed errors.
//! - [`browser_token`]: a short-lived token that lets one browser join one room.
//! - [`room_name`]: fresh `voiceblox-<millis>-<random>` room names.
//!
//! - [`room`]: joining a room as a participant (`/rtc` signalling, two str0m peer connections,
//!   data packets, attributes).

pub mod control;
pub mod credentials;
pub mod error;
pub mod link;
pub mod names;
pub mod room;
pub mod token;

pub use control::{AGENT_NAME, ControlPlane};
pub use credentials::{CredentialsError, LiveKitCredentials};
pub use error::ControlError;
pub use names::{ROOM_PREFIX, room_name, user_identity};
pub use token::{AGENT_TOKEN_TTL, BROWSER_TOKEN_TTL, agent_token, browser_token};
