//! The example agents in `examples/agents/` are valid for the plugins this repo ships.

mod common;

use voiceblox_host::config::{AgentConfig, Severity, validate};
use voiceblox_host::providers::RuntimeCatalog;

#[tokio::test]
async fn every_example_agent_validates_against_the_shipped_plugins() {
    let env = [("OPENAI_API_KEY", "sk-x"), ("DEEPGRAM_API_KEY", "dg-x"), ("EXA_API_KEY", "exa-x")];
    let (runtime, _dir) = common::runtime(&[], &env).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agents");
    let mut kinds = std::collections::BTreeSet::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let config = AgentConfig::from_json(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let errors: Vec<String> = validate(&config, &RuntimeCatalog(&runtime))
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        kinds.extend(config.steps.iter().map(|s| s.kind.name()));
        checked += 1;
    }
    assert_eq!(checked, 3);
    assert_eq!(kinds.len(), 8, "the examples use every step type: {kinds:?}");
}

#[tokio::test]
async fn without_keys_validation_names_the_variables() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agents/docs_assistant_mcp.json");
    let config = AgentConfig::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let problems: Vec<String> = validate(&config, &RuntimeCatalog(&runtime)).iter().map(|p| p.to_string()).collect();
    for var in ["OPENAI_API_KEY", "DEEPGRAM_API_KEY", "EXA_API_KEY"] {
        assert!(problems.iter().any(|p| p.contains(var)), "{var} not named in {problems:?}");
    }
}
