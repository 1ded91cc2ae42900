//! Checks an AgentConfig and reports every problem at once, each with its JSON path.

mod compatible;
mod fields;
mod postcall;
mod providers;
mod steps;
mod turn_taking;

#[cfg(test)]
mod tests;

use super::agent::AgentConfig;
use super::catalog::ProviderCatalog;
use super::error::Problem;

/// Every problem: structure, steps, and the providers and keys the catalog knows of.
pub fn validate(config: &AgentConfig, catalog: &dyn ProviderCatalog) -> Vec<Problem> {
    let mut problems = validate_structure(config);
    providers::check(config, catalog, &mut problems);
    problems
}

/// The problems that need no knowledge of loaded providers or the environment.
pub fn validate_structure(config: &AgentConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    fields::check(config, &mut problems);
    steps::check(&config.steps, config.transfer.as_ref(), &mut problems);
    if let Some(post_call) = &config.post_call {
        postcall::check(post_call, &mut problems);
    }
    if let Some(turn_taking) = &config.turn_taking {
        turn_taking::check(turn_taking, &mut problems);
    }
    problems
}
