//! Wire shapes of chat-completion responses: streamed `chat.completion.chunk`s and, for servers
//! that ignore `stream: true`, the whole `chat.completion`.
//!
//! Every field is optional and `null`-tolerant: compatible servers differ (vLLM sends
//! `"choices": null` on its usage chunk, Gemini omits tool-call `index`), and a missing field is
//! not worth failing a turn over. A field with the wrong type still fails the parse.

use serde::Deserialize;
use serde_json::Value;

use voiceblox_plugin_contract::types::{FinishReason, Usage};

#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct ChunkChoice {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Deserialize)]
pub struct ToolCallDelta {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    /// Some servers send a parsed object instead of the JSON text the spec defines.
    #[serde(default)]
    pub arguments: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl WireUsage {
    pub fn to_usage(&self) -> Usage {
        let clamp = |n: Option<u64>| u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX);
        Usage {
            prompt_tokens: clamp(self.prompt_tokens),
            completion_tokens: clamp(self.completion_tokens),
            cached_prompt_tokens: clamp(self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens)),
        }
    }
}

/// A non-streamed `chat.completion`.
#[derive(Debug, Deserialize)]
pub struct Completion {
    #[serde(default)]
    pub choices: Option<Vec<CompletionChoice>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct CompletionChoice {
    #[serde(default)]
    pub message: Option<CompletionMessage>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CompletionMessage {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// The contract's finish reason for the API's `finish_reason` string.
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" | "end_turn" => FinishReason::Stop,
        "length" | "max_tokens" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_chunk_with_cached_tokens() {
        let chunk: Chunk = serde_json::from_str(
            r#"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":35,"total_tokens":1235,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0}}}"#,
        )
        .unwrap();
        let usage = chunk.usage.unwrap().to_usage();
        assert_eq!(usage, Usage { prompt_tokens: 1200, completion_tokens: 35, cached_prompt_tokens: 1024 });
    }

    #[test]
    fn nulls_are_tolerated() {
        let chunk: Chunk = serde_json::from_str(
            r#"{"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":null,"prompt_tokens_details":null}}"#,
        )
        .unwrap();
        assert!(chunk.choices.is_none());
        assert_eq!(chunk.usage.unwrap().to_usage().completion_tokens, 0);
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("stop"), FinishReason::Stop);
        assert_eq!(finish_reason("length"), FinishReason::Length);
        assert_eq!(finish_reason("tool_calls"), FinishReason::ToolCalls);
        assert_eq!(finish_reason("function_call"), FinishReason::ToolCalls);
        assert_eq!(finish_reason("content_filter"), FinishReason::ContentFilter);
        assert_eq!(finish_reason("eos"), FinishReason::Other);
    }
}
