//! LiveKit, in two parts that share only the project's credentials (DESIGN decision 5):
//!
//! - [`LiveKitCredentials`]: the project URL, API key and secret, from the environment or given.
//! - [`control`]: the control plane a server needs before any media flows: [`ControlPlane`]
//!   (Twirp `RoomService` create/delete rooms, `AgentDispatchService` dispatch of the
//!   `voiceblox` agent) with typed errors, [`browser_token`] (one browser, one room, short
//!   lived), [`room_name`] (fresh `voiceblox-<millis>-<random>` names).
//! - [`room`]: the room client, joining as a participant (`/rtc` signalling as a sans-I/O
//!   session, two str0m peer connections, data packets, attributes), and [`link`]: a joined
//!   room as a session's user side.

pub mod control;
pub mod credentials;
pub mod link;
pub mod room;

pub use control::error::ControlError;
pub use control::names::{ROOM_PREFIX, room_name, user_identity};
pub use control::sealed::{DispatchSecrets, SealError};
pub use control::service::{AGENT_NAME, ControlPlane};
pub use control::token::{AGENT_TOKEN_TTL, BROWSER_TOKEN_TTL, agent_token, browser_token};
pub use credentials::{CredentialsError, LiveKitCredentials};
