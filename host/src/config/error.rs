//! Problems found in an AgentConfig, each tied to the JSON path where it was found.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The session must not start.
    Error,
    /// The session can run, but the config probably does not do what its author meant.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path such as `steps[2].nextStepIds.true`; empty for the document itself.
    pub path: String,
    pub message: String,
    pub severity: Severity,
}

impl Problem {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into(), severity: Severity::Error }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into(), severity: Severity::Warning }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.path.is_empty() {
            write!(f, "{level}: {}", self.message)
        } else {
            write!(f, "{level}: {}: {}", self.path, self.message)
        }
    }
}

/// Why a config was refused. Holds every problem found (warnings too, for context), so the
/// author can fix them all in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// Splits a validation result: an error when any problem is an error, else the warnings.
    pub fn check(problems: Vec<Problem>) -> Result<Vec<Problem>, ConfigError> {
        if problems.iter().any(Problem::is_error) { Err(ConfigError { problems }) } else { Ok(problems) }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors().count();
        write!(f, "invalid agent config ({count} error{}):", if count == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// Appends a map key to a path, quoting keys that are not plain identifiers (category names
/// are free text, and `a.b c` would be ambiguous).
pub fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain { format!("{parent}.{key}") } else { format!("{parent}[{key:?}]") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_one_problem_per_line() {
        let error = ConfigError {
            problems: vec![
                Problem::error("steps[0].type", "no start step"),
                Problem::warning("steps[3]", "unreachable"),
                Problem::error("", "empty document"),
            ],
        };
        assert_eq!(
            error.to_string(),
            "invalid agent config (2 errors):\n  error: steps[0].type: no start step\n  \
             warning: steps[3]: unreachable\n  error: empty document"
        );
    }

    #[test]
    fn check_passes_warnings_only() {
        assert_eq!(ConfigError::check(vec![Problem::warning("a", "b")]).unwrap().len(), 1);
        assert!(ConfigError::check(vec![Problem::error("a", "b")]).is_err());
    }

    #[test]
    fn key_path_quotes_free_text() {
        assert_eq!(key_path("steps[1].nextStepIds", "true"), "steps[1].nextStepIds.true");
        assert_eq!(key_path("steps[1].nextStepIds", "Billing question"), "steps[1].nextStepIds[\"Billing question\"]");
    }
}
