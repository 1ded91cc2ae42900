//! End-to-end test support for voiceblox: faithful local fakes of the provider APIs and the
//! audio helpers the tests feed them.
//!
//! The plugins never touch the network themselves; the host performs their HTTP and WebSocket
//! I/O. End-to-end tests therefore point the host at the fakes in [`fakes`] and check both
//! sides: what the pipeline produced, and what went over the wire (every fake records the
//! requests it received).
//!
//! The fakes speak the providers' real wire formats — a real HTTP/1.1 server, `text/event-stream`
//! bodies with chunked transfer, real WebSocket frames and close codes — so an adapter that
//! passes against them has been exercised on the same bytes production sends. Each fake binds
//! `127.0.0.1:0`, runs on the calling test's tokio runtime and shuts down when its handle is
//! dropped.

pub mod audio;
pub mod browser;
pub mod configs;
pub mod direct_user;
pub mod fakes;
pub mod guests;
pub mod measure;
pub mod models;
pub mod python_sdk;
pub mod room_user;
pub mod user;
pub mod voice_sim;

/// Cargo's target folder, where tests keep what they make once (a Python venv, models).
pub fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => dir.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

/// A plain HTTP client for tests to call servers with (on the process's TLS provider).
pub fn http_client() -> reqwest::Client {
    voiceblox_host::egress::tls::install_crypto_provider();
    reqwest::Client::new()
}
