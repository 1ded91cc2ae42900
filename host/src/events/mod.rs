//! What a session tells the room: the JSON events published on the data topic
//! `voiceblox.agent.events` (spec: `reference/voiceblox.md`).
//!
//! [`AgentEvent`] serialises exactly as the reference says (`type` tag, camelCase fields). Events
//! are built from host state only: provider errors are scrubbed before they become an
//! [`AgentEvent::Error`], and no event carries a config's keys.

mod sink;

use serde::Serialize;

pub use self::sink::{CollectSink, EventSink, FanOutSink, JsonLinesSink, NullSink};

/// The data topic every event is published on.
pub const EVENTS_TOPIC: &str = "voiceblox.agent.events";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    Initializing,
    Listening,
    Thinking,
    Speaking,
}

impl AgentState {
    /// The name in events and in LiveKit's `lk.agent.state` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initializing => "initializing",
            Self::Listening => "listening",
            Self::Thinking => "thinking",
            Self::Speaking => "speaking",
        }
    }
}

/// Where a tool comes from, as `tool_call.source` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolSource {
    Mcp,
    Exa,
    /// A call transfer (LiveKit SIP).
    Sip,
    /// The step engine's own tools (`step_complete`).
    Flow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One event of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum AgentEvent {
    /// Entering a step, `start` included.
    StepChange {
        step_id: String,
        step_type: String,
    },
    ToolCall {
        call_id: String,
        tool_name: String,
        source: ToolSource,
        arguments: serde_json::Value,
    },
    ToolResult {
        call_id: String,
        tool_name: String,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    AgentState {
        state: AgentState,
    },
    Transcript {
        role: Role,
        text: String,
        r#final: bool,
    },
    Metrics(TurnMetrics),
    Error {
        code: ErrorCode,
        message: String,
    },
    /// [ours] A provider failed before answering and the next of its chain took the request
    /// (`kind`: `llm`; `from`/`to`: `provider/model`; `reason`: the failure, never a secret).
    ProviderSwitch {
        kind: String,
        from: String,
        to: String,
        reason: String,
    },
}

/// Stable error codes, so clients can react without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The AgentConfig was refused; the session did not start.
    InvalidConfig,
    LlmFailed,
    TtsFailed,
    SttFailed,
    ToolFailed,
    /// A branch evaluation gave no usable answer; the default branch was taken.
    EvaluationFailed,
    WebhookFailed,
    PostCallFailed,
    /// A transfer step could not hand the call over; the next step (if any) took over.
    TransferFailed,
}

/// Timings and usage of one agent turn; absent fields did not apply (a literal line has no LLM).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnMetrics {
    /// Which agent utterance of the session (1-based).
    pub turn: u32,
    /// User stopped speaking → turn committed (VAD end of speech to end of turn).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eou_delay_ms: Option<f64>,
    /// User stopped speaking → final transcript available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stt_delay_ms: Option<f64>,
    /// LLM request sent → first token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_ttft_ms: Option<f64>,
    /// First text sent to TTS → first audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tts_ttfb_ms: Option<f64>,
    /// Turn committed → first agent audio played (what the user waits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_ms: Option<f64>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cached_prompt_tokens: u32,
    /// Characters sent to TTS.
    pub tts_characters: u32,
    /// The utterance was cut short by the user.
    pub interrupted: bool,
}

impl AgentEvent {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        AgentEvent::Error { code, message: message.into() }
    }

    /// The event's `type`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::StepChange { .. } => "step_change",
            Self::ToolCall { .. } => "tool_call",
            Self::ToolResult { .. } => "tool_result",
            Self::AgentState { .. } => "agent_state",
            Self::Transcript { .. } => "transcript",
            Self::Metrics(_) => "metrics",
            Self::Error { .. } => "error",
            Self::ProviderSwitch { .. } => "provider_switch",
        }
    }

    /// The JSON text published on the topic.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn value(event: AgentEvent) -> serde_json::Value {
        serde_json::from_str(&event.to_json()).unwrap()
    }

    #[test]
    fn events_serialise_as_the_reference_says() {
        assert_eq!(
            value(AgentEvent::StepChange { step_id: "s1".into(), step_type: "burst".into() }),
            json!({"type": "step_change", "stepId": "s1", "stepType": "burst"})
        );
        assert_eq!(
            value(AgentEvent::ToolCall {
                call_id: "c1".into(),
                tool_name: "lookup".into(),
                source: ToolSource::Mcp,
                arguments: json!({"id": 4}),
            }),
            json!({"type": "tool_call", "callId": "c1", "toolName": "lookup", "source": "mcp", "arguments": {"id": 4}})
        );
        assert_eq!(
            value(AgentEvent::ToolResult {
                call_id: "c1".into(),
                tool_name: "lookup".into(),
                ok: false,
                result: None,
                error: Some("down".into())
            }),
            json!({"type": "tool_result", "callId": "c1", "toolName": "lookup", "ok": false, "error": "down"})
        );
        assert_eq!(
            value(AgentEvent::AgentState { state: AgentState::Thinking }),
            json!({"type": "agent_state", "state": "thinking"})
        );
        assert_eq!(
            value(AgentEvent::Transcript { role: Role::User, text: "hi".into(), r#final: true }),
            json!({"type": "transcript", "role": "user", "text": "hi", "final": true})
        );
        assert_eq!(
            value(AgentEvent::error(ErrorCode::LlmFailed, "429")),
            json!({"type": "error", "code": "llm_failed", "message": "429"})
        );
        let metrics =
            value(AgentEvent::Metrics(TurnMetrics { turn: 2, llm_ttft_ms: Some(12.5), ..Default::default() }));
        assert_eq!(metrics["type"], "metrics");
        assert_eq!(metrics["turn"], 2);
        assert_eq!(metrics["llmTtftMs"], 12.5);
        assert!(metrics.get("ttsTtfbMs").is_none());
    }
}
