//! The example configs in `fixtures/` parse, validate cleanly and keep their keys secret.

use super::*;

const SUPPORT_TRIAGE: &str = include_str!("fixtures/support_triage.json");
const DEMO_QUALIFIER: &str = include_str!("fixtures/demo_qualifier.json");
const DOCS_ASSISTANT: &str = include_str!("fixtures/docs_assistant.json");

/// The providers the product names, with their usual key variables, all keys set.
pub(crate) fn full_catalog() -> StaticCatalog {
    StaticCatalog::default()
        .with(ProviderKind::Llm, "openai", &["OPENAI_API_KEY"])
        .with(ProviderKind::Llm, "groq", &["GROQ_API_KEY"])
        .with(ProviderKind::Tts, "openai", &["OPENAI_API_KEY"])
        .with(ProviderKind::Tts, "elevenlabs", &["ELEVENLABS_API_KEY", "ELEVEN_API_KEY"])
        .with(ProviderKind::Tts, "cartesia", &["CARTESIA_API_KEY"])
        .with(ProviderKind::Stt, "deepgram", &["DEEPGRAM_API_KEY"])
        .with(ProviderKind::Stt, "assemblyai", &["ASSEMBLYAI_API_KEY"])
        .with_env("OPENAI_API_KEY")
        .with_env("ELEVEN_API_KEY")
        .with_env("CARTESIA_API_KEY")
        .with_env("DEEPGRAM_API_KEY")
        .with_env("ASSEMBLYAI_API_KEY")
}

fn load_clean(json: &str) -> AgentConfig {
    match load(json, &full_catalog()) {
        Ok(loaded) => {
            assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
            loaded.config
        }
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn greeting_burst_categorize_flow() {
    let config = load_clean(SUPPORT_TRIAGE);
    assert_eq!(config.agent_name, "Acme Support Triage");
    assert_eq!(config.language, "en-US");
    assert!(config.allow_interruption);
    assert_eq!(config.stt.keyterm_list(), ["Acme", "fibre", "router", "outage"]);
    assert_eq!(config.start_step().unwrap().next(), Some("step-discover"));
    let route = config.step("step-route").unwrap();
    assert_eq!(route.branch("Cancel service"), Some("step-retention"));
    assert_eq!(config.evaluation_llm(route).model, "gpt-4.1-nano");
    // Omitted rounds take the default.
    assert_eq!(
        config.step("step-retention").unwrap().kind,
        StepKind::Burst {
            rounds: 1,
            command: Some("Acknowledge the request and offer one month free to stay.".into())
        }
    );
}

#[test]
fn opentalk_ifelse_flow() {
    let config = load_clean(DEMO_QUALIFIER);
    assert!(!config.allow_interruption);
    assert_eq!(config.language, "en");
    let branch = config.step("qualified").unwrap();
    assert_eq!((branch.branch("true"), branch.branch("false")), (Some("book"), Some("nurture")));
    // No evaluationLlm: the main LLM decides.
    assert_eq!(config.evaluation_llm(branch), &config.llm);
    assert_eq!(config.stt.language_detection, Some(true));
}

#[test]
fn mcp_tool_and_compatible_endpoint() {
    let config = load_clean(DOCS_ASSISTANT);
    let server = &config.mcp_servers[0];
    assert_eq!(server.auth_type, McpAuthType::Bearer);
    assert_eq!(server.selected_tools.as_deref(), Some(&["search_docs".to_string(), "get_page".to_string()][..]));
    assert_eq!(config.llm.base_url.as_deref(), Some("http://localhost:11434/v1"));
    assert_eq!(config.exa_configs[0].num_results, Some(5));
    assert_eq!(config.tts.emotion.as_deref(), Some("positivity:high"));
}

#[test]
fn secrets_never_appear_in_debug_or_json() {
    for json in [DEMO_QUALIFIER, DOCS_ASSISTANT] {
        let config = AgentConfig::from_json(json).unwrap();
        let shown = format!("{config:?} {config:#?} {}", serde_json::to_string(&config).unwrap());
        for secret in ["sk-proj-fixture", "dg-fixture", "mcp-fixture", "exa-fixture"] {
            assert!(!shown.contains(secret), "{secret} leaked");
        }
    }
    let config = AgentConfig::from_json(DOCS_ASSISTANT).unwrap();
    assert_eq!(
        config.stt.api_key.unwrap().into_secret(),
        crate::egress::secret::Secret::new("dg-fixture-stt-key-0002")
    );
}

#[test]
fn serialising_keeps_the_shape() {
    let config = AgentConfig::from_json(SUPPORT_TRIAGE).unwrap();
    let again = AgentConfig::from_json(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);
}

#[test]
fn unknown_fields_are_ignored_everywhere() {
    let json = r#"{
        "frameworkId": "f", "frameworkProvider": "livekit", "agentName": "a", "instructions": "i",
        "futureTopLevel": {"nested": [1, 2]}, "version": 3,
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "reasoningEffort": "low"},
        "tts": {"model": "tts-1", "provider": "openai", "speed": 1.2},
        "stt": {"model": "nova-3", "provider": "deepgram", "smartFormat": true},
        "steps": [{"id": "s", "type": "start", "label": "Start", "data": {"color": "red"}}],
        "mcpServers": [{"serverUrl": "https://m.example/mcp", "name": "m"}],
        "exaConfigs": [{"category": "news"}]
    }"#;
    let config = load(json, &full_catalog().with_env("EXA_API_KEY")).unwrap().config;
    assert_eq!(config.steps.len(), 1);
}
