//! Typed errors of the plugin runtime: loading a plugin, and running one of its streams.

use std::path::PathBuf;

use super::bindings::latest::types::ProviderError;
use crate::egress::policy::PolicyError;

/// Why a plugin could not be loaded. Each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    #[error("wasmtime engine: {0:#}")]
    Engine(#[source] wasmtime::Error),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a WebAssembly file (no `\\0asm` header)")]
    NotWasm { path: PathBuf },
    #[error(
        "{path}: a core WebAssembly module, not a component; build for wasm32-wasip2 or wrap it with `wasm-tools component new`"
    )]
    CoreModule { path: PathBuf },
    #[error("{path}: invalid component: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: not a voiceblox plugin: it exports no `voiceblox:plugin/meta` interface (exports: {found})")]
    NotAPlugin { path: PathBuf, found: String },
    #[error(
        "{path}: built for {found}, but this host loads voiceblox:plugin {expected}; rebuild the plugin against this host's wit/ (or with the SDK of one of those versions)"
    )]
    ContractVersion { path: PathBuf, expected: String, found: String },
    #[error(
        "{path}: mixes contract versions: it exports {first} but also uses {second}; build every interface from one wit/ folder"
    )]
    MixedContract { path: PathBuf, first: String, second: String },
    #[error(
        "{path}: imports {import}, which the plugin sandbox does not provide (plugins get WASI CLI basics only; do I/O through host actions)"
    )]
    UnsupportedImport { path: PathBuf, import: String },
    #[error("{path}: describe() failed: {message}")]
    Describe { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    BadDescription { path: PathBuf, message: String },
    /// Another plugin serves the provider id this one claims (see `PluginRegistry`).
    #[error("{path}: {message}")]
    ProviderTaken { path: PathBuf, message: String },
}

/// Why a stream ended without finishing. Only that stream is affected; the instance is
/// discarded and the host carries on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The provider (or the adapter on its behalf) reported an error.
    #[error("{provider}: {}", describe(error))]
    Provider { provider: String, error: ProviderError },
    #[error("unknown {kind} provider `{provider}`; loaded plugins provide: {loaded}")]
    UnknownProvider { provider: String, kind: &'static str, loaded: String },
    #[error("plugin {plugin} does not serve {kind} for provider `{provider}`")]
    NotServed { plugin: String, provider: String, kind: &'static str },
    #[error("plugin {plugin} exceeded its CPU deadline of {deadline_ms} ms in one call and was stopped")]
    Deadline { plugin: String, deadline_ms: u128 },
    #[error(
        "plugin {plugin} used {used_ms} ms of CPU time within {window_s} s, over its stream budget of {budget_ms} ms, and was stopped"
    )]
    CpuBudget { plugin: String, used_ms: u128, budget_ms: u128, window_s: u64 },
    #[error(
        "plugin {plugin} made no progress for {seconds} s (no request, connection or timer pending, no input) and was stopped"
    )]
    Idle { plugin: String, seconds: u64 },
    #[error("plugin {plugin} went past a stream limit: {message}")]
    Limit { plugin: String, message: String },
    #[error("plugin {plugin} exceeded its memory cap: {detail}")]
    MemoryCap { plugin: String, detail: String },
    #[error("plugin {plugin} trapped: {message}")]
    Trap { plugin: String, message: String },
    #[error("plugin {plugin} could not be instantiated: {message}")]
    Instantiate { plugin: String, message: String },
    #[error("plugin {plugin}: {source}")]
    Denied {
        plugin: String,
        #[source]
        source: PolicyError,
    },
    /// Host-side I/O setup failed (for example the TLS roots could not be loaded).
    #[error("host I/O: {0}")]
    Io(String),
    #[error("plugin {plugin} broke the contract: {message}")]
    Contract { plugin: String, message: String },
}

/// The longest provider-requested wait worth taking inside a live conversation.
const MAX_RETRY_WAIT_MS: u32 = 2_000;

impl StreamError {
    /// How long to wait before one retry, when retrying can help: a rate limit with a short
    /// (or no) `retry-after`, an unavailable or slow provider. `None`: retrying is pointless
    /// (bad key, bad request, a plugin fault) or would keep the user waiting too long.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        let ms = match self {
            StreamError::Provider { error: ProviderError::RateLimited(r), .. } => match r.retry_after_ms {
                Some(ms) if ms > MAX_RETRY_WAIT_MS => return None,
                Some(ms) => ms,
                None => 500,
            },
            StreamError::Provider { error: ProviderError::Unavailable(_) | ProviderError::Timeout(_), .. } => 250,
            _ => return None,
        };
        Some(std::time::Duration::from_millis(u64::from(ms)))
    }
}

/// A provider error as people read it (the generated `Display` is the debug form).
pub fn describe(error: &ProviderError) -> String {
    match error {
        ProviderError::Unauthorized(m) => format!("unauthorized: {m}"),
        ProviderError::RateLimited(r) => match r.retry_after_ms {
            Some(ms) => format!("rate limited (retry after {ms} ms): {}", r.message),
            None => format!("rate limited: {}", r.message),
        },
        ProviderError::InvalidRequest(m) => format!("invalid request: {m}"),
        ProviderError::Unavailable(m) => format!("unavailable: {m}"),
        ProviderError::Timeout(m) => format!("timeout: {m}"),
        ProviderError::Protocol(m) => format!("protocol error: {m}"),
        ProviderError::Internal(m) => format!("adapter error: {m}"),
    }
}
