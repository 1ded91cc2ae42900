//! `transfer_to_human`: the LLM hands a phone caller to a person. The transfer itself is the
//! user side's (LiveKit: `SIP/TransferSIPParticipant`, a SIP REFER to the configured address);
//! once the far end takes the call, the caller leaves the room and the session ends as any
//! call whose user hung up.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::json;

use super::{ToolError, ToolSpec};
use crate::config::TransferConfig;
use crate::events::ToolSource;
use crate::flow::toolbox::ToolProvider;
use crate::transport::UserLink;

/// The name the LLM calls the tool by.
pub const TOOL_NAME: &str = "transfer_to_human";

/// What the LLM reads after a transfer went through: the caller is leaving.
pub const TRANSFERRED: &str = "The call was transferred to a person; the caller is leaving. Say nothing more.";

pub struct CallTransfer {
    config: TransferConfig,
    /// The user's side; none where there is no call to transfer (a text console).
    link: Option<Arc<dyn UserLink>>,
}

impl CallTransfer {
    pub fn new(config: TransferConfig, link: Option<Arc<dyn UserLink>>) -> Self {
        Self { config, link }
    }
}

impl ToolProvider for CallTransfer {
    fn source(&self) -> ToolSource {
        ToolSource::Sip
    }

    fn specs(&self) -> Vec<ToolSpec> {
        let mut description = "Transfer the caller to a human. Tell the caller first that you are transferring them. \
                               Use it when the caller asks for a person or you cannot help further."
            .to_string();
        if let Some(when) = self.config.description.as_deref().filter(|d| !d.trim().is_empty()) {
            description.push(' ');
            description.push_str(when.trim());
        }
        vec![ToolSpec {
            name: TOOL_NAME.to_string(),
            description,
            parameters: json!({
                "type": "object",
                "properties": {"reason": {"type": "string", "description": "Why the caller needs a person, in a few words."}},
            }),
        }]
    }

    fn call<'a>(&'a self, name: &'a str, arguments: serde_json::Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            if name != TOOL_NAME {
                return Err(ToolError::UnknownTool(name.to_string()));
            }
            let reason = arguments.get("reason").and_then(|r| r.as_str()).unwrap_or("");
            tracing::info!(to = %self.config.to, reason, "transferring the caller");
            let failed = |message: String| ToolError::Failed { tool: TOOL_NAME.to_string(), message };
            let link =
                self.link.as_ref().ok_or_else(|| failed("there is no call to transfer in a text session".into()))?;
            link.transfer(self.config.to.trim(), self.config.play_dialtone).await.map_err(|e| failed(e.to_string()))?;
            Ok(TRANSFERRED.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::events::AgentState;
    use crate::transport::LinkError;

    /// A phone line that records transfers, or refuses them.
    struct Line {
        refuse: bool,
        transfers: Mutex<Vec<(String, bool)>>,
    }

    impl UserLink for Line {
        fn publish_event(&self, _json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
            Box::pin(async { Ok(()) })
        }
        fn set_agent_state(&self, _state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
            Box::pin(async { Ok(()) })
        }
        fn transfer(&self, to: &str, play_dialtone: bool) -> BoxFuture<'_, Result<(), LinkError>> {
            self.transfers.lock().unwrap().push((to.to_string(), play_dialtone));
            let refuse = self.refuse;
            Box::pin(async move { if refuse { Err("SIP 486 Busy Here".into()) } else { Ok(()) } })
        }
    }

    fn transfer(refuse: bool) -> (CallTransfer, Arc<Line>) {
        let line = Arc::new(Line { refuse, transfers: Mutex::default() });
        let config = TransferConfig {
            to: " tel:+15550100 ".into(),
            description: Some("Only for billing disputes.".into()),
            play_dialtone: true,
        };
        (CallTransfer::new(config, Some(line.clone())), line)
    }

    #[tokio::test]
    async fn the_call_goes_to_the_configured_address_and_a_refusal_reaches_the_llm() {
        let (tool, line) = transfer(false);
        let spec = &tool.specs()[0];
        assert_eq!(spec.name, TOOL_NAME);
        assert!(spec.description.ends_with("Only for billing disputes."), "{}", spec.description);
        let answer = tool.call(TOOL_NAME, json!({"reason": "billing"})).await.unwrap();
        assert_eq!(answer, TRANSFERRED);
        assert_eq!(*line.transfers.lock().unwrap(), [("tel:+15550100".to_string(), true)]);

        let (tool, _) = transfer(true);
        let error = tool.call(TOOL_NAME, json!({})).await.unwrap_err();
        assert_eq!(error.to_string(), "`transfer_to_human` failed: SIP 486 Busy Here");
        let text = CallTransfer::new(TransferConfig { to: "tel:+1".into(), ..Default::default() }, None);
        let error = text.call(TOOL_NAME, json!({})).await.unwrap_err().to_string();
        assert!(error.contains("no call to transfer"), "{error}");
    }
}
