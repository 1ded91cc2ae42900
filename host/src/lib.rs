//! voiceblox host: the real-time core of a voice agent and the sandboxed WebAssembly provider
//! plugins it drives.
//!
//! - [`plugin`]: loading, sandboxing and running provider adapters (LLM, TTS, STT).

pub mod plugin;
