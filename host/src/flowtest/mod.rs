//! Flow tests: an AgentConfig's conversations checked in CI without keys or network.
//!
//! A spec file ([`spec`]) names a config and tests; each test scripts the user's turns and the
//! LLM's replies and says what must happen (the step path, events, tool calls, webhooks, agent
//! turns, a time budget). The session is the real one (config validation, the step engine, the
//! real adapter plugin parsing the scripted stream), run on virtual time ([`run`]) with its
//! egress answered by the script ([`script`]; a voice test's STT and TTS by [`speech`], its
//! user speaking WAVs by [`voice`]); [`expect`] compares, [`junit`] reports for CI.

pub mod expect;
pub mod junit;
mod replayed;
pub mod run;
pub mod script;
pub mod spec;
mod speech;
pub mod tools;
mod voice;
mod wire;

use std::path::Path;
use std::time::Duration;

use crate::plugin::PluginRuntime;

pub use self::spec::{SpecError, SpecFile};

/// One test's result.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The spec file, as given.
    pub file: String,
    pub name: String,
    /// Empty when it passed.
    pub failures: Vec<String>,
    /// The session's length on virtual time.
    pub virtual_time: Duration,
    /// What running it took.
    pub wall: Duration,
}

/// Runs every test of the spec file at `path`. Must run on a paused clock.
pub async fn run_file(path: &Path, runtime: &PluginRuntime) -> Result<Vec<TestResult>, SpecError> {
    let spec = SpecFile::read(path)?;
    let mut results = Vec::new();
    for test in &spec.tests {
        let started = std::time::Instant::now();
        let (failures, virtual_time) = match SpecFile::recording_for(test, path) {
            Some(recording) => replayed::check(test, &recording, runtime).await,
            None => {
                let config = spec.config_for(test, path)?;
                let config_value = serde_json::from_str(&config).unwrap_or_default();
                let base = path.parent().unwrap_or(Path::new("."));
                match run::run(test, &config, runtime, base).await {
                    Ok(session) => (expect::check(&test.expect, &session, &config_value), session.duration),
                    Err(error) => (vec![error.to_string()], Duration::ZERO),
                }
            }
        };
        results.push(TestResult {
            file: path.display().to_string(),
            name: test.name.clone(),
            failures,
            virtual_time,
            wall: started.elapsed(),
        });
    }
    Ok(results)
}
