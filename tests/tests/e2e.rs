//! The end-to-end suite in one test binary: every file beside this one is a module here, so the
//! host, wasmtime and the fakes are linked once instead of once per file (each binary is ~100 MB
//! and a link of its own). `voice.rs`, `console_flow.rs` and `guest_languages.rs` stay binaries of
//! their own: the first two run in real time and the last compiles large components, and they should
//! not share the two test threads with each other's load.
//!
//! Run one file's tests with `cargo test -p voiceblox-tests --test e2e sandbox::`.

mod common;

mod agent_room;
mod anthropic;
mod assemblyai;
mod cartesia;
mod contract_versions;
mod conversation;
mod deepgram;
mod egress;
mod elevenlabs;
mod examples;
mod gemini;
mod live_providers;
mod livekit_control;
mod local_models;
mod openai;
mod plugin_loading;
mod room;
mod sandbox;
mod sandbox_keys;
mod tools;
mod voice_machine;
mod worker;
