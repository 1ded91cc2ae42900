//! The server's end-to-end tests in one test binary (each file beside this one is a module here),
//! so the server, the host and the fakes are linked once for them. `browser.rs` (headless
//! Chromium) and `livekit_sdk.rs` (the Python SDK) stay binaries of their own: each drives a real
//! peer in real time and should not share the two test threads with the other's load.
//!
//! Run one file's tests with `cargo test -p voiceblox-server --test e2e direct_session::`.

mod common;

mod agent_session;
mod api;
mod direct_session;
mod live_livekit;
