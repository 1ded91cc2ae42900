//! The binary's end-to-end tests in one test binary (each file beside this one is a module here),
//! so the host is linked once for them. `audio_allocations.rs` (its own counting allocator) and
//! `dotenv.rs` (it sets process environment variables) stay binaries of their own.
//!
//! Run one file's tests with `cargo test -p voiceblox-host --test e2e cli::`.

mod common;

mod cli;
mod flowtest;
mod replay;
