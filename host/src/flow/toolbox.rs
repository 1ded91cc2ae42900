//! The tools one session offers its LLM, whatever serves them, behind one lookup.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::tools::{ToolError, ToolSpec};
use crate::events::ToolSource;
use crate::plugin::llm::ToolDefinition;

/// The step engine's tool for ending an opentalk step.
pub const STEP_COMPLETE: &str = "step_complete";

/// Something that serves tools: an MCP server connection, Exa search.
pub trait ToolProvider: Send + Sync {
    fn source(&self) -> ToolSource;
    fn specs(&self) -> Vec<ToolSpec>;
    fn call<'a>(&'a self, name: &'a str, arguments: serde_json::Value) -> BoxFuture<'a, Result<String, ToolError>>;
}

/// Every tool of a session. Names are unique: a later provider's tool that clashes with an
/// earlier one is dropped (logged), since the LLM could not tell them apart.
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: Vec<(ToolSpec, Arc<dyn ToolProvider>)>,
}

impl Toolbox {
    pub fn add(&mut self, provider: Arc<dyn ToolProvider>) {
        for spec in provider.specs() {
            if spec.name == STEP_COMPLETE || self.tools.iter().any(|(s, _)| s.name == spec.name) {
                tracing::warn!(tool = %spec.name, "a tool with this name is already offered; ignoring this one");
                continue;
            }
            self.tools.push((spec, provider.clone()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|(s, _)| s.name.as_str()).collect()
    }

    /// The definitions sent with a request; `step_complete` is added in opentalk steps.
    pub fn definitions(&self, with_step_complete: bool) -> Vec<ToolDefinition> {
        let mut definitions: Vec<ToolDefinition> = self
            .tools
            .iter()
            .map(|(spec, _)| ToolDefinition {
                name: spec.name.clone(),
                description: spec.description.clone(),
                parameters: spec.parameters.to_string(),
            })
            .collect();
        if with_step_complete {
            definitions.push(ToolDefinition {
                name: STEP_COMPLETE.into(),
                description: "Call when the user has nothing more to say on the current part of the conversation."
                    .into(),
                parameters: r#"{"type":"object","properties":{}}"#.into(),
            });
        }
        definitions
    }

    /// The provider serving `name`.
    pub fn find(&self, name: &str) -> Option<&Arc<dyn ToolProvider>> {
        self.tools.iter().find(|(spec, _)| spec.name == name).map(|(_, p)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<&'static str>);

    impl ToolProvider for Fixed {
        fn source(&self) -> ToolSource {
            ToolSource::Mcp
        }
        fn specs(&self) -> Vec<ToolSpec> {
            self.0
                .iter()
                .map(|n| ToolSpec {
                    name: n.to_string(),
                    description: String::new(),
                    parameters: serde_json::json!({}),
                })
                .collect()
        }
        fn call<'a>(&'a self, name: &'a str, _: serde_json::Value) -> BoxFuture<'a, Result<String, ToolError>> {
            Box::pin(async move { Ok(name.to_string()) })
        }
    }

    #[test]
    fn names_stay_unique_and_step_complete_is_reserved() {
        let mut toolbox = Toolbox::default();
        toolbox.add(Arc::new(Fixed(vec!["a", "b"])));
        toolbox.add(Arc::new(Fixed(vec!["b", "c", STEP_COMPLETE])));
        assert_eq!(toolbox.names(), ["a", "b", "c"]);
        assert_eq!(toolbox.definitions(false).len(), 3);
        assert_eq!(toolbox.definitions(true).last().unwrap().name, STEP_COMPLETE);
        assert!(toolbox.find("c").is_some() && toolbox.find("d").is_none());
    }
}
