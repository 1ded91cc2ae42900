//! Every request voiceblox sends out — plugin HTTP requests and WebSocket connections,
//! webhooks, the post-call webhook, MCP servers, Exa search — goes through this module.
//!
//! 1. **Grant**: what a caller may reach. A plugin stream may reach the hosts its plugin
//!    declared and the operator allowed, and the base URL the operator configured for it; a
//!    URL from an AgentConfig (a webhook, an MCP server) is its own grant.
//! 2. **Policy** ([`policy`]): the grant checked against the operator's allow-list, and every
//!    address vetted — literal IPs at once, names when they resolve (the one resolver), so no
//!    request reaches a loopback, private or link-local address the operator did not allow.
//! 3. **Secrets** ([`secret`]): the provider key is filled in here and only here, where the
//!    request may carry it (header values, query values, the first WebSocket text frame).
//! 4. **Send**: [`Egress::send`] and [`Egress::connect`] take only an [`Authorized`] request,
//!    which only [`Egress::authorize`] makes. One HTTP client (one reqwest), no redirects, no
//!    proxies: either would let a request reach an address the resolver never saw.
//! 5. **Tap** ([`tap`]): a session being recorded writes every exchange to its recording; a
//!    replayed one sends nothing and is answered from its recording.

mod client;
pub(crate) mod mcp;
pub mod policy;
mod request;
mod resolver;
pub mod secret;
mod tap;
pub mod tls;
mod ws;

pub use client::{Egress, Timeouts, denial};
pub use policy::{HostPattern, NetworkPolicy, PolicyError, StreamGrant};
pub use request::{Authorized, EgressError, Grant, Outgoing};
pub use secret::Secret;
pub use tap::{SendError, Tap};
pub use ws::{WsConnectError, WsSocket};
