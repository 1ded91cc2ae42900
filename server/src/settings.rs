//! How the server runs agent sessions: the runtime mode and the default LiveKit project, from
//! flags or the environment (`.env` included, loaded by `main`).

use crate::error::ApiError;
use std::sync::Arc;
use voiceblox_host::record::{RecordOptions, RecordSettings};

use clap::{Args, ValueEnum};
use voiceblox_host::config::ApiKey;
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::transport::livekit::{ControlPlane, CredentialsError, LiveKitCredentials};

/// Who brings the agent into the room (`AGENT_RUNTIME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum RuntimeMode {
    /// This process joins the room itself.
    #[default]
    #[value(name = "inprocess")]
    InProcess,
    /// A standalone worker registered as `voiceblox` gets a dispatch. Voiceblox names its two
    /// workers after their languages; either name means "a worker".
    #[value(name = "worker", alias = "typescript", alias = "python")]
    Worker,
}

#[derive(Args, Debug, Clone, Default)]
pub struct SessionOptions {
    /// inprocess (default): this server runs the agent; worker (aliases typescript, python): a
    /// `voiceblox` worker is dispatched to the room.
    #[arg(long, env = "AGENT_RUNTIME", value_enum, default_value_t = RuntimeMode::InProcess, ignore_case = true)]
    pub agent_runtime: RuntimeMode,
    /// LiveKit project URL (wss://...); a request's `livekit.url` overrides it.
    #[arg(long, env = "LIVEKIT_URL")]
    pub livekit_url: Option<String>,
    /// LiveKit API key (the JWT issuer).
    #[arg(long, env = "LIVEKIT_API_KEY")]
    pub livekit_api_key: Option<String>,
    /// LiveKit API secret; its value never shows in --help, even when set in the environment.
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true, value_parser = secret)]
    pub livekit_api_secret: Option<Secret>,
    #[command(flatten)]
    pub record: RecordOptions,
}

/// Limits of direct browser sessions (`/api/direct-session`).
#[derive(Args, Debug, Clone)]
pub struct DirectOptions {
    /// Direct sessions running at once; more get 503 until one ends.
    #[arg(long = "direct-max-sessions", env = "VOICEBLOX_DIRECT_MAX_SESSIONS", default_value_t = 16)]
    pub max_sessions: usize,
    /// Longest direct session, in seconds; at the limit the agent hangs up (post-call still runs).
    #[arg(long = "direct-max-seconds", env = "VOICEBLOX_DIRECT_MAX_SECONDS", default_value_t = 1800)]
    pub max_seconds: u64,
}

impl Default for DirectOptions {
    fn default() -> Self {
        Self { max_sessions: 16, max_seconds: 1800 }
    }
}

fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// A request's `livekit` object; each field overrides the server's. Blank means "not given".
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveKitOverride {
    pub url: Option<String>,
    pub api_key: Option<String>,
    /// An [`ApiKey`] so that neither `Debug` nor logs can show it.
    #[serde(default, deserialize_with = "voiceblox_host::config::secret::optional")]
    pub api_secret: Option<ApiKey>,
}

impl LiveKitOverride {
    pub fn is_empty(&self) -> bool {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        blank(&self.url) && blank(&self.api_key) && self.api_secret.is_none()
    }
}

/// What `/api/agent-session` works with: the mode and the default LiveKit project.
#[derive(Clone)]
pub struct SessionSettings {
    pub mode: RuntimeMode,
    url: Option<String>,
    api_key: Option<String>,
    api_secret: Option<Secret>,
    /// Built once for the configured project, so requests share its connection pool.
    default_plane: Option<Arc<ControlPlane>>,
    /// Where sessions are recorded (`--record DIR`), if they are.
    pub record: Option<RecordSettings>,
}

impl SessionSettings {
    /// How this server records its in-process sessions (`None`: it does not; a session whose
    /// config asks is then recorded only where `on_request` is set). A request asking for what
    /// this server cannot do is the caller's error; in worker mode the ask goes to the worker
    /// in the config, and the worker records it if it runs with `--record`.
    pub fn recording(&self, asked: bool) -> Result<Option<RecordSettings>, ApiError> {
        if self.mode == RuntimeMode::Worker {
            return Ok(None);
        }
        if asked && self.record.is_none() {
            return Err(ApiError::bad_request(
                "recording_unavailable",
                "this server does not record sessions: start it with --record DIR (or VOICEBLOX_RECORD_DIR)",
            ));
        }
        Ok(self.record.clone())
    }
}

impl SessionSettings {
    pub fn new(options: SessionOptions) -> Self {
        let SessionOptions { agent_runtime, livekit_url, livekit_api_key, livekit_api_secret, record } = options;
        let mut settings = Self {
            mode: agent_runtime,
            url: livekit_url,
            api_key: livekit_api_key,
            api_secret: livekit_api_secret,
            default_plane: None,
            record: record.settings(),
        };
        settings.default_plane =
            settings.credentials(&LiveKitOverride::default()).ok().map(ControlPlane::new).map(Arc::new);
        settings
    }

    /// Whether the server has a complete, valid LiveKit project of its own.
    pub fn livekit_configured(&self) -> bool {
        self.default_plane.is_some()
    }

    /// The control plane for a request: the configured project, or the request's override
    /// merged field by field over it.
    pub fn control_plane(&self, request: &LiveKitOverride) -> Result<Arc<ControlPlane>, CredentialsError> {
        match (&self.default_plane, request.is_empty()) {
            (Some(plane), true) => Ok(plane.clone()),
            _ => self.credentials(request).map(|c| Arc::new(ControlPlane::new(c))),
        }
    }

    fn credentials(&self, request: &LiveKitOverride) -> Result<LiveKitCredentials, CredentialsError> {
        let pick = |requested: &Option<String>, configured: Option<String>| {
            requested.clone().filter(|v| !v.trim().is_empty()).or(configured)
        };
        let requested_secret = request.api_secret.clone().map(ApiKey::into_secret);
        LiveKitCredentials::from_parts(
            pick(&request.url, self.url.clone()),
            pick(&request.api_key, self.api_key.clone()),
            requested_secret.or_else(|| self.api_secret.clone()),
        )
    }
}
