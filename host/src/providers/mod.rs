//! The session's view of its three providers: typed clients over the plugin runtime, built
//! from the AgentConfig's `llm`, `tts` and `stt` sections.
//!
//! - [`settings`] turns a config section into the runtime's [`ProviderSettings`] and tells
//!   validation which providers are loaded ([`RuntimeCatalog`]).
//! - [`llm::ChatLlm`], [`tts::Speaker`], [`stt::Transcriber`] open one plugin stream per
//!   request/utterance/session and translate its events.
//!
//! [`ProviderSettings`]: crate::plugin::ProviderSettings

pub mod chain;
pub mod llm;
pub mod request_keys;
pub mod settings;
pub mod stt;
pub mod tts;

pub use self::llm::{ChatLlm, LlmChunk, LlmReply};
pub use self::settings::RuntimeCatalog;
pub use self::stt::{SttChunk, Transcriber};
pub use self::tts::{Speaker, Synthesis, TtsChunk};
