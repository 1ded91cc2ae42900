//! A plugin's description as static data.
//!
//! What a provider declares (hosts, option keys, environment variables, rates) is known at
//! compile time, mostly as constants the adapter already has; [`ProviderSpec`] takes them as
//! they are, so [`Plugin::describe`](crate::Plugin::describe) is one literal instead of a
//! conversion per field.

use crate::types::{Kind, PluginInfo, ProviderInfo, SttMode};

/// A provider's [`ProviderInfo`], written with `'static` slices. Start from
/// [`ProviderSpec::NONE`] and fill in what the provider has.
#[derive(Debug, Clone, Copy)]
pub struct ProviderSpec {
    /// The provider id, also the `provider/` prefix of model names.
    pub id: &'static str,
    /// The kinds it serves.
    pub kinds: &'static [Kind],
    /// The hosts its streams connect to.
    pub hosts: &'static [&'static str],
    /// The option keys it reads.
    pub config_keys: &'static [&'static str],
    /// Where the host looks for its key, in order.
    pub api_key_env: &'static [&'static str],
    /// Where the host looks for its base URL, in order.
    pub base_url_env: &'static [&'static str],
    /// How it transcribes, when it serves STT.
    pub stt_mode: Option<SttMode>,
    /// The rate the host resamples microphone audio to, when it serves STT.
    pub stt_sample_rate: Option<u32>,
    /// The rates it speaks at, the default first, when it serves TTS.
    pub tts_sample_rates: &'static [u32],
}

impl ProviderSpec {
    /// A provider with nothing declared, to fill in with struct update syntax.
    pub const NONE: ProviderSpec = ProviderSpec {
        id: "",
        kinds: &[],
        hosts: &[],
        config_keys: &[],
        api_key_env: &[],
        base_url_env: &[],
        stt_mode: None,
        stt_sample_rate: None,
        tts_sample_rates: &[],
    };

    /// The description the contract carries.
    pub fn info(&self) -> ProviderInfo {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        ProviderInfo {
            id: self.id.into(),
            kinds: self.kinds.to_vec(),
            hosts: strings(self.hosts),
            config_keys: strings(self.config_keys),
            api_key_env: strings(self.api_key_env),
            base_url_env: strings(self.base_url_env),
            stt_mode: self.stt_mode,
            stt_sample_rate: self.stt_sample_rate,
            tts_sample_rates: self.tts_sample_rates.to_vec(),
        }
    }
}

/// The description of a plugin `name` at `version` (its `CARGO_PKG_VERSION`) serving `provider`.
pub fn single_provider(name: &str, version: &str, provider: &ProviderSpec) -> PluginInfo {
    PluginInfo { name: name.into(), version: version.into(), providers: vec![provider.info()] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_becomes_the_contracts_description() {
        let spec = ProviderSpec {
            id: "beeper",
            kinds: &[Kind::Stt, Kind::Tts],
            hosts: &["api.beeper.test"],
            api_key_env: &["BEEPER_API_KEY", "BEEP_KEY"],
            stt_mode: Some(SttMode::Streaming),
            stt_sample_rate: Some(16_000),
            tts_sample_rates: &[24_000, 16_000],
            ..ProviderSpec::NONE
        };
        let info = single_provider("beeper", "1.2.3", &spec);
        assert_eq!((info.name.as_str(), info.version.as_str()), ("beeper", "1.2.3"));
        assert_eq!(
            info.providers,
            [ProviderInfo {
                id: "beeper".into(),
                kinds: vec![Kind::Stt, Kind::Tts],
                hosts: vec!["api.beeper.test".into()],
                config_keys: Vec::new(),
                api_key_env: vec!["BEEPER_API_KEY".into(), "BEEP_KEY".into()],
                base_url_env: Vec::new(),
                stt_mode: Some(SttMode::Streaming),
                stt_sample_rate: Some(16_000),
                tts_sample_rates: vec![24_000, 16_000],
            }]
        );
    }
}
