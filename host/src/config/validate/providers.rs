//! Providers and keys: every named provider is loaded, and every one that needs a key has one.

use crate::config::agent::AgentConfig;
use crate::config::catalog::ProviderCatalog;
use crate::config::error::Problem;
use crate::config::provider::ProviderKind;
use crate::config::tools::EXA_KEY_VAR;

/// One section that names a provider.
struct Section {
    kind: ProviderKind,
    path: String,
    provider: String,
    has_key: bool,
    has_base_url: bool,
}

pub(super) fn check(config: &AgentConfig, catalog: &dyn ProviderCatalog, out: &mut Vec<Problem>) {
    let mut sections = vec![
        Section {
            kind: ProviderKind::Llm,
            path: "llm".into(),
            provider: config.llm.provider_id(),
            has_key: config.llm.api_key.is_some(),
            has_base_url: config.llm.base_url.is_some(),
        },
        Section {
            kind: ProviderKind::Tts,
            path: "tts".into(),
            provider: config.tts.provider_id(),
            has_key: config.tts.api_key.is_some(),
            has_base_url: false,
        },
        Section {
            kind: ProviderKind::Stt,
            path: "stt".into(),
            provider: config.stt.provider_id(),
            has_key: config.stt.api_key.is_some(),
            has_base_url: false,
        },
    ];
    let extra_llms = config
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| step.evaluation_llm.as_ref().map(|llm| (format!("steps[{i}].evaluationLlm"), llm)));
    let post_call_llm = config.post_call.as_ref().and_then(|p| p.llm.as_ref()).map(|llm| ("postCall.llm".into(), llm));
    let fallbacks = config.llm.fallbacks.iter().enumerate().map(|(i, llm)| (format!("llm.fallbacks[{i}]"), llm));
    for (path, llm) in extra_llms.chain(post_call_llm).chain(fallbacks) {
        sections.push(Section {
            kind: ProviderKind::Llm,
            path,
            provider: llm.provider_id(),
            has_key: llm.api_key.is_some(),
            has_base_url: llm.base_url.is_some(),
        });
    }
    for (i, tts) in config.tts.fallbacks.iter().enumerate() {
        sections.push(Section {
            kind: ProviderKind::Tts,
            path: format!("tts.fallbacks[{i}]"),
            provider: tts.provider_id(),
            has_key: tts.api_key.is_some(),
            has_base_url: false,
        });
    }
    for (i, stt) in config.stt.fallbacks.iter().enumerate() {
        let path = format!("stt.fallbacks[{i}]");
        let (main, spare) = (catalog.stt_input(&config.stt.provider_id()), catalog.stt_input(&stt.provider_id()));
        if let (Some(main), Some(spare)) = (main, spare)
            && main != spare
        {
            out.push(Problem::error(
                format!("{path}.provider"),
                format!(
                    "{} takes {spare}, but stt ({}) takes {main}: a fallback must take the audio the main STT is sent",
                    stt.provider_id(),
                    config.stt.provider_id()
                ),
            ));
        }
        sections.push(Section {
            kind: ProviderKind::Stt,
            path,
            provider: stt.provider_id(),
            has_key: stt.api_key.is_some(),
            has_base_url: false,
        });
    }
    for section in &sections {
        check_section(section, catalog, out);
    }
    for (i, exa) in config.exa_configs.iter().enumerate() {
        if exa.api_key.is_none() && !catalog.env_has(EXA_KEY_VAR) {
            out.push(Problem::error(
                format!("exaConfigs[{i}].apiKey"),
                format!("no Exa API key: set {EXA_KEY_VAR} or exaConfigs[{i}].apiKey"),
            ));
        }
    }
}

fn check_section(section: &Section, catalog: &dyn ProviderCatalog, out: &mut Vec<Problem>) {
    let (kind, path) = (section.kind.name(), &section.path);
    if section.provider.is_empty() {
        out.push(Problem::error(format!("{path}.provider"), format!("no {kind} provider named")));
        return;
    }
    let loaded = catalog.providers(section.kind);
    let Some(id) = loaded.iter().find(|p| p.eq_ignore_ascii_case(&section.provider)) else {
        let list =
            if loaded.is_empty() { "none are loaded".to_string() } else { format!("loaded: {}", loaded.join(", ")) };
        let openai_loaded = loaded.iter().any(|p| p == "openai");
        let message = match super::compatible::instead(section.kind, &section.provider, path, openai_loaded) {
            Some(instead) => format!("unknown {kind} provider '{}': {instead}", section.provider),
            None => format!("unknown {kind} provider '{}'; {list}", section.provider),
        };
        out.push(Problem::error(format!("{path}.provider"), message));
        return;
    };
    if section.has_key {
        return;
    }
    let vars = catalog.key_vars(section.kind, id);
    if vars.is_empty() || vars.iter().any(|v| catalog.env_has(v)) {
        return;
    }
    let message = format!("no API key for {kind} provider '{id}': set {} or {path}.apiKey", vars.join(" or "));
    // A compatible endpoint (Ollama, vLLM) often takes no key, so only warn there.
    if section.has_base_url {
        out.push(Problem::warning(
            format!("{path}.apiKey"),
            format!("{message} (unless the endpoint at baseURL needs none)"),
        ));
    } else {
        out.push(Problem::error(format!("{path}.apiKey"), message));
    }
}
