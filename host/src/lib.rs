//! voiceblox host: the real-time core of a voice agent and the sandboxed WebAssembly provider
//! plugins it drives.
//!
//! - [`agent`]: an agent session inside a LiveKit room (worker jobs and in-process sessions).
//! - [`clock`]: the one clock sessions read (tokio's, so virtual time can drive them).
//! - [`audio`]: PCM frames, streaming resampling and voice activity detection (sans-I/O).
//! - [`plugin`]: loading, sandboxing and running provider adapters (LLM, TTS, STT).
//! - [`config`]: the AgentConfig model, its defaults and validation.
//! - [`providers`]: typed LLM/TTS/STT clients over the plugin runtime.
//! - [`record`]: recording sessions and replaying them offline on virtual time.
//! - [`flowtest`]: flow tests of AgentConfigs (scripted users and providers, virtual time).
//! - [`flow`]: the conversation-step engine, tools (MCP, Exa) and post-call processing.
//! - [`voice`]: the real-time voice loop (turns, interruptions, streaming TTS, metrics).
//! - [`events`]: what a session publishes on `voiceblox.agent.events`.
//! - [`transport`]: how a session meets its user: the console, LiveKit (control plane, room client).
//! - [`worker`]: the LiveKit agent worker that takes dispatched jobs.
//! - [`open_files`]: raising the open-files limit (sessions hold sockets).

pub mod agent;
pub mod audio;
pub mod clock;
pub mod config;
pub mod dotenv;
pub mod egress;
pub mod error_text;
pub mod events;
pub mod flow;
pub mod flowtest;
pub mod models;
pub mod open_files;
pub mod plugin;
pub mod providers;
pub mod record;
pub mod transport;
pub mod voice;
pub mod worker;
