//! Single fields: language, numeric ranges, URLs, and the tool sections.

use crate::config::agent::AgentConfig;
use crate::config::error::Problem;
use crate::config::tools::McpAuthType;

pub(super) fn check(config: &AgentConfig, out: &mut Vec<Problem>) {
    if !config.framework_provider.is_empty() && !config.framework_provider.eq_ignore_ascii_case("livekit") {
        out.push(Problem::warning(
            "frameworkProvider",
            format!(
                "'{}' is not 'livekit'; the config runs on the LiveKit-compatible runtime",
                config.framework_provider
            ),
        ));
    }
    check_language(&config.language, out);
    check_models(config, out);
    check_ranges(config, out);
    check_tools(config, out);
}

/// Language tags only go to providers, which may know codes outside BCP-47 (Deepgram's
/// `multi`), so a malformed tag is a warning; an empty one is surely a mistake.
fn check_language(language: &str, out: &mut Vec<Problem>) {
    if language.trim().is_empty() {
        out.push(Problem::error("language", "empty language; use a BCP-47 tag such as 'en' or 'en-US'"));
    } else if !is_bcp47(language) {
        out.push(Problem::warning("language", format!("'{language}' does not look like a BCP-47 tag such as 'en-US'")));
    }
}

/// The shape of a tag (primary language, then alphanumeric subtags), not registry membership.
pub(super) fn is_bcp47(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or("");
    let primary_ok = matches!(primary.len(), 2 | 3 | 5..=8) && primary.chars().all(|c| c.is_ascii_alphabetic());
    primary_ok && subtags.all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn check_models(config: &AgentConfig, out: &mut Vec<Problem>) {
    let models = [("llm.model", &config.llm.model), ("tts.model", &config.tts.model), ("stt.model", &config.stt.model)];
    for (path, model) in models {
        if model.trim().is_empty() {
            out.push(Problem::error(path, "no model named"));
        }
    }
    for (i, step) in config.steps.iter().enumerate() {
        if let Some(llm) = &step.evaluation_llm
            && llm.model.trim().is_empty()
        {
            out.push(Problem::error(format!("steps[{i}].evaluationLlm.model"), "no model named"));
        }
    }
}

fn check_ranges(config: &AgentConfig, out: &mut Vec<Problem>) {
    let llms = std::iter::once(("llm".to_string(), &config.llm)).chain(
        config
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((format!("steps[{i}].evaluationLlm"), s.evaluation_llm.as_ref()?)))
            .chain(config.post_call.as_ref().and_then(|p| p.llm.as_ref()).map(|llm| ("postCall.llm".into(), llm))),
    );
    for (path, llm) in llms {
        if let Some(t) = llm.temperature
            && !(0.0..=2.0).contains(&t)
        {
            out.push(Problem::error(format!("{path}.temperature"), format!("temperature must be 0–2, got {t}")));
        }
        if llm.max_tokens == Some(0) {
            out.push(Problem::error(format!("{path}.maxTokens"), "maxTokens must be at least 1"));
        }
        if let Some(url) = &llm.base_url {
            check_http_url(&format!("{path}.baseURL"), Some(url), out);
        }
    }
    let unit = [("tts.stability", config.tts.stability), ("tts.similarityBoost", config.tts.similarity_boost)];
    for (path, value) in unit {
        if let Some(v) = value
            && !(0.0..=1.0).contains(&v)
        {
            out.push(Problem::error(path, format!("must be 0–1, got {v}")));
        }
    }
}

fn check_tools(config: &AgentConfig, out: &mut Vec<Problem>) {
    for (i, server) in config.mcp_servers.iter().enumerate() {
        let path = format!("mcpServers[{i}]");
        check_http_url(&format!("{path}.serverUrl"), Some(&server.server_url), out);
        match (server.auth_type, &server.auth_value) {
            (McpAuthType::Bearer | McpAuthType::ApiKey, None) => {
                out.push(Problem::error(format!("{path}.authValue"), "this authType needs an authValue"))
            }
            (McpAuthType::None, Some(_)) => {
                out.push(Problem::warning(format!("{path}.authValue"), "ignored: authType is 'none'"))
            }
            _ => {}
        }
        if server.selected_tools.as_ref().is_some_and(Vec::is_empty) {
            out.push(Problem::warning(format!("{path}.selectedTools"), "empty: no tool of this server is offered"));
        }
    }
    for (i, exa) in config.exa_configs.iter().enumerate() {
        if let Some(n) = exa.num_results
            && !(1..=100).contains(&n)
        {
            out.push(Problem::error(format!("exaConfigs[{i}].numResults"), format!("must be 1–100, got {n}")));
        }
    }
    if let Some(transfer) = &config.transfer {
        check_transfer_address("transfer.to", &transfer.to, out);
    }
    let nested = [
        ("llm", config.llm.fallbacks.iter().map(|f| f.fallbacks.is_empty()).collect::<Vec<_>>()),
        ("tts", config.tts.fallbacks.iter().map(|f| f.fallbacks.is_empty()).collect()),
        ("stt", config.stt.fallbacks.iter().map(|f| f.fallbacks.is_empty()).collect()),
    ];
    for (kind, none) in nested {
        for (i, _) in none.iter().enumerate().filter(|(_, none)| !**none) {
            out.push(Problem::warning(
                format!("{kind}.fallbacks[{i}].fallbacks"),
                format!("ignored: the chain is {kind}, then {kind}.fallbacks in order"),
            ));
        }
    }
}

/// A call transfer's target: a `tel:` or `sip:` URI (a bare number is told how to write it).
pub(super) fn check_transfer_address(path: &str, to: &str, out: &mut Vec<Problem>) {
    let to = to.trim();
    if to.is_empty() {
        out.push(Problem::error(path, "no number or SIP address to transfer to"));
    } else if !(to.starts_with("tel:") || to.starts_with("sip:") || to.starts_with("sips:")) {
        let hint = if to.starts_with('+') || to.chars().all(|c| c.is_ascii_digit()) {
            format!("; for a phone number write 'tel:{to}'")
        } else {
            String::new()
        };
        out.push(Problem::error(path, format!("'{to}' is not a tel: or sip: address{hint}")));
    }
}

/// Outgoing requests (webhooks, MCP, base URLs) are plain HTTP(S) to a named host.
pub(super) fn check_http_url(path: &str, url: Option<&str>, out: &mut Vec<Problem>) {
    let url = url.unwrap_or("").trim();
    if url.is_empty() {
        out.push(Problem::error(path, "no URL given"));
        return;
    }
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() => {}
        Ok(parsed) => {
            out.push(Problem::error(path, format!("'{url}' is not an http(s) URL (scheme '{}')", parsed.scheme())))
        }
        Err(error) => out.push(Problem::error(path, format!("'{url}' is not a valid URL: {error}"))),
    }
}
