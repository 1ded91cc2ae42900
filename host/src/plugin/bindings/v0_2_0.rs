//! Bindings for `voiceblox:plugin@0.2.0` (`wit/`), the version the host speaks: nothing to
//! forward.

super::contract_version!("../wit", semver::Version::new(0, 2, 0));

/// The identity conversions: this version is `latest`.
mod forward {
    use std::borrow::Cow;

    use super::super::same;
    use super::{llm, stt, tts, types};

    pub fn input(input: &types::Input) -> Cow<'_, types::Input> {
        same(input)
    }
    pub fn provider_config(config: &types::ProviderConfig) -> Cow<'_, types::ProviderConfig> {
        same(config)
    }
    pub fn llm_request(request: &llm::Request) -> Cow<'_, llm::Request> {
        same(request)
    }
    pub fn tts_request(request: &tts::Request) -> Cow<'_, tts::Request> {
        same(request)
    }
    pub fn stt_request(request: &stt::Request) -> Cow<'_, stt::Request> {
        same(request)
    }
    pub fn actions(actions: Vec<types::Action>) -> Vec<types::Action> {
        actions
    }
    pub fn provider_error(error: types::ProviderError) -> types::ProviderError {
        error
    }
    pub fn plugin_info(info: types::PluginInfo) -> types::PluginInfo {
        info
    }
}
