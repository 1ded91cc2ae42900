//! A flow test's MCP tools: the config's servers stand in for by the tools the test scripts,
//! offered to the LLM as the servers' would be and answering each call with the next result.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;

use super::spec::{ToolOutcome, ToolScript};
use crate::events::ToolSource;
use crate::flow::toolbox::ToolProvider;
use crate::flow::tools::{ToolError, ToolSpec};

pub struct ScriptedTools {
    specs: Vec<ToolSpec>,
    results: Mutex<HashMap<String, VecDeque<ToolOutcome>>>,
    /// Calls the script had no result for.
    unscripted: Arc<Mutex<Vec<String>>>,
}

impl ScriptedTools {
    pub fn new(scripts: &[ToolScript], unscripted: Arc<Mutex<Vec<String>>>) -> Self {
        let specs = scripts
            .iter()
            .map(|tool| ToolSpec {
                name: tool.name.clone(),
                description: tool.description.clone().unwrap_or_else(|| format!("The {} tool.", tool.name)),
                parameters: serde_json::json!({"type": "object"}),
            })
            .collect();
        let results = scripts.iter().map(|tool| (tool.name.clone(), tool.results.clone().into())).collect();
        Self { specs, results: Mutex::new(results), unscripted }
    }
}

impl ToolProvider for ScriptedTools {
    fn source(&self) -> ToolSource {
        ToolSource::Mcp
    }

    fn specs(&self) -> Vec<ToolSpec> {
        self.specs.clone()
    }

    fn call<'a>(&'a self, name: &'a str, _arguments: serde_json::Value) -> BoxFuture<'a, Result<String, ToolError>> {
        let next =
            self.results.lock().unwrap_or_else(PoisonError::into_inner).get_mut(name).and_then(VecDeque::pop_front);
        let result = match next {
            Some(ToolOutcome::Text(text)) => Ok(text),
            Some(ToolOutcome::Error { error }) => Err(ToolError::Failed { tool: name.to_string(), message: error }),
            None => {
                let message = format!("tool `{name}`: the script has no result left");
                self.unscripted.lock().unwrap_or_else(PoisonError::into_inner).push(message.clone());
                Err(ToolError::Failed { tool: name.to_string(), message })
            }
        };
        Box::pin(std::future::ready(result))
    }
}
