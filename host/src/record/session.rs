//! Starting a session's recording: the header (what a replay needs to run it again) and the
//! session's runtime with its egress recording.

use super::format::{FORMAT, Header, PluginIdentity, RecordedMedium, VERSION};
use super::recorder::{RecordSettings, Recorder};
use crate::config::{AgentConfig, strip_secrets};
use crate::egress::Tap;
use crate::plugin::PluginRuntime;

/// The header of a recording of a session of `config` on `runtime`.
pub fn header(config: &AgentConfig, runtime: &PluginRuntime, medium: RecordedMedium) -> Header {
    let mut config = serde_json::to_value(config).unwrap_or_default();
    strip_secrets(&mut config);
    let plugins: Vec<PluginIdentity> = runtime
        .registry()
        .plugins()
        .iter()
        .map(|plugin| PluginIdentity {
            name: plugin.name().to_string(),
            version: plugin.info().version.clone(),
            sha256: plugin.sha256().to_string(),
            providers: plugin.info().providers.iter().map(|p| p.id.clone()).collect(),
        })
        .collect();
    // Host-side services (Exa) are pointed elsewhere the same way.
    let host_side = [crate::flow::setup::EXA_BASE_URL_VAR.to_string()];
    let base_url_env = plugins
        .iter()
        .flat_map(|plugin| plugin.providers.iter())
        .flat_map(|provider| runtime.base_url_vars(provider))
        .chain(host_side)
        .filter_map(|var| runtime.env_var(&var).map(|value| (var, value)))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    Header {
        format: FORMAT.into(),
        version: VERSION,
        host: env!("CARGO_PKG_VERSION").into(),
        started: humantime::format_rfc3339_millis(crate::clock::wall_now()).to_string(),
        medium,
        config,
        plugins,
        allowed_hosts: runtime.policy().operator_allowed().map(ToString::to_string).collect(),
        base_url_env,
    }
}

/// Starts recording a session: the recorder, and the runtime whose every request it
/// records. `None` (logged) when the file cannot be made; the session runs unrecorded.
pub fn start(
    settings: &RecordSettings,
    config: &AgentConfig,
    runtime: &PluginRuntime,
    medium: RecordedMedium,
) -> Option<(Recorder, PluginRuntime)> {
    match Recorder::create(settings, &header(config, runtime, medium)) {
        Ok(recorder) => {
            let runtime = runtime.with_tap(Tap::Record(recorder.clone()));
            Some((recorder, runtime))
        }
        Err(error) => {
            tracing::warn!(%error, "the session is not recorded");
            None
        }
    }
}
