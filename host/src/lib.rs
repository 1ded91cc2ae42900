//! voiceblox host: the real-time core of a voice agent and the sandboxed WebAssembly provider
//! plugins it drives.
//!
//! - [`audio`]: PCM frames, streaming resampling and voice activity detection (sans-I/O).
//! - [`plugin`]: loading, sandboxing and running provider adapters (LLM, TTS, STT).
//! - [`config`]: the AgentConfig model, its defaults and validation.

pub mod audio;
pub mod config;
pub mod events;
pub mod flow;
pub mod plugin;
pub mod providers;
pub mod transport;
pub mod voice;
