//! The plugin runtime: loading sandboxed WebAssembly provider adapters and running their
//! streams.
//!
//! How it fits together:
//! 1. [`PluginEngine`] holds the wasmtime engine (pooling allocator, epoch deadlines) and the
//!    linker with the sandbox's WASI basics.
//! 2. [`PluginRegistry::load_dir`] finds `*.wasm` files, checks each component's exports
//!    against the contract version *before* instantiating it ([`contract`]), compiles it through
//!    the on-disk [`cache`], pre-links it and calls `describe()`; bad files are reported, not
//!    fatal. Each provider id goes to one plugin: pinned by the operator or first-party
//!    ([`provider_policy`]); names and ids must be plain ([`untrusted`]).
//! 3. [`PluginRuntime::open`] resolves a provider's key and base URL, instantiates the plugin
//!    in a fresh sandboxed Store ([`store`], [`limits`]) and starts the stream's [`driver`],
//!    which performs the adapter's HTTP and WebSocket actions through the egress
//!    ([`crate::egress`]: the network policy, keys filled in only where they may stand),
//!    scrubs keys from all that comes back, and holds each stream to its bounds ([`limits`],
//!    [`cpu`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use voiceblox_host::egress::NetworkPolicy;
//! use voiceblox_host::plugin::*;
//! let engine = PluginEngine::new(SandboxLimits::default())?;
//! let registry = PluginRegistry::load_dir(&engine, &CompileCache::new(None), &default_plugins_dir()).await;
//! let runtime = PluginRuntime::new(registry, NetworkPolicy::default(), Timeouts::default())?;
//! let settings = ProviderSettings { provider: "openai".into(), model: "gpt-4.1-mini".into(), ..Default::default() };
//! let request = OpenRequest::Llm(llm::Request {
//!     messages: vec![llm::Message { role: llm::Role::User, content: "Hi".into(), tool_calls: vec![], tool_call_id: None }],
//!     tools: vec![], temperature: None, max_tokens: None, extras: "{}".into(),
//! });
//! let mut stream = runtime.open(&settings, request).await?;
//! while let Some(output) = stream.next().await {
//!     println!("{output:?}");
//! }
//! # Ok(()) }
//! ```

pub mod bindings;
pub mod cache;
pub mod contract;
pub mod cpu;
pub mod discovery;
pub mod driver;
pub mod engine;
pub mod error;
pub mod fault;
pub mod instance;
pub mod limits;
pub mod loaded;
pub mod options;
pub mod provider_policy;
pub mod registry;
pub mod runtime;
mod stderr;
pub mod store;
pub mod untrusted;

pub use bindings::latest::{llm, stt, tts, types};
pub use cache::CompileCache;
pub use discovery::default_dir as default_plugins_dir;
pub use driver::{StreamHandle, StreamInput, StreamOutput, Timeouts};
pub use engine::PluginEngine;
pub use error::{PluginError, StreamError};
pub use instance::{GuestStream, OpenRequest, PluginInstance};
pub use limits::{SandboxLimits, StreamLimits};
pub use loaded::{Plugin, kind_name};
pub use options::{OptionsError, PluginOptions};
pub use provider_policy::ProviderPolicy;
pub use registry::PluginRegistry;
pub use runtime::{EnvLookup, PluginRuntime, ProviderSettings};
