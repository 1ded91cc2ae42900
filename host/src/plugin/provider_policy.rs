//! The operator's word on providers: which plugin serves a provider id, and which environment
//! variables feed its key and base URL. A plugin never decides either: whatever a plugin
//! declares in `describe()`, a provider id gets `<ID>_API_KEY` (and `<ID>_BASE_URL`), the
//! documented variables of the providers this repository ships, or what the policy file maps;
//! never the host's own settings (`LIVEKIT_*`, `VOICEBLOX_*`).
//!
//! ```toml
//! [providers.myllm]
//! plugin = "my-llm.wasm"        # this file serves `myllm`, whoever else claims it
//! key_env = ["MYLLM_TOKEN"]     # the key comes from here (instead of MYLLM_API_KEY)
//! base_url_env = ["MYLLM_URL"]  # and the base URL from here (instead of MYLLM_BASE_URL)
//! ```

use std::collections::BTreeMap;

use super::untrusted::{clean, is_plain_id};

/// (id, key variables, base-URL variables).
type Documented = (&'static str, &'static [&'static str], &'static [&'static str]);

/// Key and base-URL variables of the providers the product names, as their SDKs read them.
const DOCUMENTED: &[Documented] = &[
    ("openai", &["OPENAI_API_KEY"], &["OPENAI_BASE_URL"]),
    ("deepgram", &["DEEPGRAM_API_KEY"], &["DEEPGRAM_BASE_URL", "DEEPGRAM_HOST"]),
    ("elevenlabs", &["ELEVENLABS_API_KEY", "ELEVEN_API_KEY"], &["ELEVENLABS_BASE_URL"]),
    ("cartesia", &["CARTESIA_API_KEY"], &["CARTESIA_BASE_URL"]),
    ("assemblyai", &["ASSEMBLYAI_API_KEY"], &["ASSEMBLYAI_BASE_URL"]),
    ("anthropic", &["ANTHROPIC_API_KEY"], &["ANTHROPIC_BASE_URL"]),
    ("google", &["GOOGLE_API_KEY", "GEMINI_API_KEY"], &["GOOGLE_BASE_URL"]),
    ("groq", &["GROQ_API_KEY"], &["GROQ_BASE_URL"]),
];

/// Prefixes of the host's own settings: no provider is ever given one.
const HOST_SETTINGS: &[&str] = &["LIVEKIT_", "VOICEBLOX_"];

/// Whether `var` is one of the host's own settings.
pub fn is_host_setting(var: &str) -> bool {
    HOST_SETTINGS.iter().any(|prefix| var.to_ascii_uppercase().starts_with(prefix))
}

/// `my-llm` → `MY_LLM_API_KEY` for suffix `API_KEY`.
fn id_var(id: &str, suffix: &str) -> String {
    format!("{}_{suffix}", id.to_ascii_uppercase().replace('-', "_"))
}

fn plain_var(var: &str) -> bool {
    !var.is_empty()
        && var.len() <= 128
        && var.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// One provider's entry in the policy file.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// File name (in the plugins folder) of the plugin that serves this id.
    pub plugin: Option<String>,
    /// Variables the key is read from, in order (replaces the defaults).
    pub key_env: Option<Vec<String>>,
    /// Variables the base URL is read from, in order (replaces the defaults).
    pub base_url_env: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderPolicyError {
    #[error("[providers.{0}]: not a plain provider id (lower-case letters, digits, `-`, `_`)")]
    BadId(String),
    #[error("[providers.{id}]: `{var}` is not an environment variable name (A-Z, 0-9, _)")]
    BadVar { id: String, var: String },
    #[error(
        "[providers.{id}]: `{var}` is one of the host's own settings (LIVEKIT_*, VOICEBLOX_*), never given to a plugin"
    )]
    HostSetting { id: String, var: String },
    #[error("[providers.{id}]: plugin `{file}` must be a file name in the plugins folder (like `my-plugin.wasm`)")]
    BadFile { id: String, file: String },
}

/// What the operator decided about providers. The default decides nothing beyond the rules.
#[derive(Debug, Clone, Default)]
pub struct ProviderPolicy {
    entries: BTreeMap<String, ProviderEntry>,
}

impl ProviderPolicy {
    /// Checks the entries of a policy file's `[providers]` table.
    pub fn new(entries: BTreeMap<String, ProviderEntry>) -> Result<Self, ProviderPolicyError> {
        for (id, entry) in &entries {
            if !is_plain_id(id) {
                return Err(ProviderPolicyError::BadId(clean(id).into_owned()));
            }
            if let Some(file) = &entry.plugin
                && (file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') || !file.ends_with(".wasm"))
            {
                return Err(ProviderPolicyError::BadFile { id: id.clone(), file: clean(file).into_owned() });
            }
            for var in entry.key_env.iter().chain(&entry.base_url_env).flatten() {
                if !plain_var(var) {
                    return Err(ProviderPolicyError::BadVar { id: id.clone(), var: clean(var).into_owned() });
                }
                if is_host_setting(var) {
                    return Err(ProviderPolicyError::HostSetting { id: id.clone(), var: var.clone() });
                }
            }
        }
        Ok(Self { entries })
    }

    /// The file the operator pinned to serve `id`, if any.
    pub fn pinned(&self, id: &str) -> Option<&str> {
        self.entries.get(id).and_then(|e| e.plugin.as_deref())
    }

    /// Variables `id`'s key is read from, in order.
    pub fn key_vars(&self, id: &str) -> Vec<String> {
        self.vars(id, |e| &e.key_env, |d| d.1, "API_KEY")
    }

    /// Variables `id`'s base URL is read from, in order.
    pub fn base_url_vars(&self, id: &str) -> Vec<String> {
        self.vars(id, |e| &e.base_url_env, |d| d.2, "BASE_URL")
    }

    fn vars(
        &self,
        id: &str,
        mapped: impl Fn(&ProviderEntry) -> &Option<Vec<String>>,
        documented: fn(&Documented) -> &'static [&'static str],
        suffix: &str,
    ) -> Vec<String> {
        if let Some(vars) = self.entries.get(id).and_then(|e| mapped(e).clone()) {
            return vars;
        }
        if !is_plain_id(id) {
            return Vec::new();
        }
        let mut vars = vec![id_var(id, suffix)];
        for var in DOCUMENTED.iter().filter(|d| d.0 == id).flat_map(|d| documented(d).iter()) {
            if !vars.iter().any(|v| v == var) {
                vars.push(var.to_string());
            }
        }
        vars.retain(|v| !is_host_setting(v));
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(toml: &str) -> Result<ProviderPolicy, ProviderPolicyError> {
        #[derive(serde::Deserialize)]
        struct File {
            providers: BTreeMap<String, ProviderEntry>,
        }
        ProviderPolicy::new(toml::from_str::<File>(toml).unwrap().providers)
    }

    #[test]
    fn variables_follow_the_id_and_the_documented_names() {
        let policy = ProviderPolicy::default();
        assert_eq!(policy.key_vars("openai"), ["OPENAI_API_KEY"]);
        assert_eq!(policy.base_url_vars("deepgram"), ["DEEPGRAM_BASE_URL", "DEEPGRAM_HOST"]);
        assert_eq!(policy.key_vars("elevenlabs"), ["ELEVENLABS_API_KEY", "ELEVEN_API_KEY"]);
        assert_eq!(policy.key_vars("my-llm"), ["MY_LLM_API_KEY"]);
        // Ids that would name the host's own settings get nothing.
        assert!(policy.key_vars("livekit").is_empty());
        assert!(policy.base_url_vars("voiceblox").is_empty());
        assert!(policy.key_vars("Bad Id").is_empty());
    }

    #[test]
    fn the_policy_file_maps_other_names_but_never_host_settings() {
        let p = policy("[providers.myllm]\nplugin = \"my.wasm\"\nkey_env = [\"TOKEN_A\", \"TOKEN_B\"]\n").unwrap();
        assert_eq!(p.key_vars("myllm"), ["TOKEN_A", "TOKEN_B"]);
        assert_eq!(p.base_url_vars("myllm"), ["MYLLM_BASE_URL"]);
        assert_eq!(p.pinned("myllm"), Some("my.wasm"));
        assert_eq!(p.pinned("openai"), None);
        assert_eq!(
            policy("[providers.x]\nkey_env = [\"LIVEKIT_API_SECRET\"]").unwrap_err(),
            ProviderPolicyError::HostSetting { id: "x".into(), var: "LIVEKIT_API_SECRET".into() }
        );
        assert!(matches!(policy("[providers.x]\nkey_env = [\"a-b\"]"), Err(ProviderPolicyError::BadVar { .. })));
        assert!(matches!(policy("[providers.x]\nplugin = \"../x.wasm\""), Err(ProviderPolicyError::BadFile { .. })));
        assert!(matches!(policy("[providers.\"X\"]\n"), Err(ProviderPolicyError::BadId(_))));
    }
}
