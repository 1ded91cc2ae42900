//! The example agents in `examples/agents/` are valid for the plugins this repo ships.

use crate::common;

use voiceblox_host::config::{AgentConfig, Severity, validate};
use voiceblox_host::providers::RuntimeCatalog;

/// The example AgentConfigs (not their flow-test specs).
fn agent_configs() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agents");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json") && !path.to_string_lossy().ends_with(".test.json"))
        .collect();
    paths.sort();
    paths
}

#[tokio::test]
async fn every_example_agent_validates_against_the_shipped_plugins() {
    let env = [("OPENAI_API_KEY", "sk-x"), ("DEEPGRAM_API_KEY", "dg-x"), ("EXA_API_KEY", "exa-x")];
    let (runtime, _dir) = common::runtime(&[], &env).await;
    let mut kinds = std::collections::BTreeSet::new();
    let mut checked = 0;
    for path in agent_configs() {
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

/// Each example ships its flow tests (`<agent>.test.json`), and they pass: the conversations
/// the examples are meant to have, on virtual time, with the shipped plugins.
#[tokio::test(start_paused = true)]
async fn every_example_agent_has_flow_tests_and_they_pass() {
    let (runtime, _dir) = common::runtime(&[], &[]).await;
    let mut tests = 0;
    for config in agent_configs() {
        let spec = config.with_extension("test.json");
        assert!(spec.exists(), "{} has no flow tests ({})", config.display(), spec.display());
        let results = voiceblox_host::flowtest::run_file(&spec, &runtime).await.unwrap();
        assert!(!results.is_empty(), "{}: no tests", spec.display());
        for result in results {
            assert!(result.failures.is_empty(), "{} › {}: {:#?}", result.file, result.name, result.failures);
            tests += 1;
        }
    }
    assert!(tests >= 5, "{tests} tests");
}
