//! One `data:` document of the stream: a `GenerateContentResponse`. Every chunk is a whole
//! response in miniature (candidates with the parts generated since the last chunk, the usage so
//! far); the last one carries the `finishReason`. Fields the adapter does not use are left out.

use serde::Deserialize;
use serde_json::Value;

use voiceblox_plugin_contract::types::{FinishReason, Usage};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chunk {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub response_id: Option<String>,
    /// A failure after the stream started (`{"error": {"code", "message", "status"}}`).
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default)]
    pub content: Option<Content>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Only `candidateCount: 1` is requested, but a chunk names its candidate anyway.
    #[serde(default)]
    pub index: u32,
}

#[derive(Debug, Deserialize)]
pub struct Content {
    #[serde(default)]
    pub parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default)]
    pub text: Option<String>,
    /// A thought summary (`includeThoughts`): reasoning, not words to speak.
    #[serde(default)]
    pub thought: bool,
    #[serde(default)]
    pub function_call: Option<FunctionCall>,
    /// Opaque; thinking models want it back with the part it came on (see [`crate::tool_id`]).
    #[serde(default)]
    pub thought_signature: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionCall {
    /// Newer models name their calls; older ones leave it out.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    /// An object; absent when the function takes no arguments.
    #[serde(default)]
    pub args: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default)]
    pub block_reason: Option<String>,
    #[serde(default)]
    pub block_reason_message: Option<String>,
}

/// Token counts. Each chunk carries the counts so far; the last chunk's are final.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: Option<u32>,
    #[serde(default)]
    pub candidates_token_count: Option<u32>,
    #[serde(default)]
    pub cached_content_token_count: Option<u32>,
    #[serde(default)]
    pub thoughts_token_count: Option<u32>,
}

impl UsageMetadata {
    /// In the contract's terms: prompt tokens include the cached ones (Gemini counts them that
    /// way already), and completion tokens include the thinking the model did, since that is
    /// generated and billed as output.
    pub fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_token_count.unwrap_or(0),
            completion_tokens: self
                .candidates_token_count
                .unwrap_or(0)
                .saturating_add(self.thoughts_token_count.unwrap_or(0)),
            cached_prompt_tokens: self.cached_content_token_count.unwrap_or(0),
        }
    }
}

/// The contract's reason for a candidate's `finishReason`.
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        // Withheld for what it says or repeats: the answer was filtered.
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        // MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, LANGUAGE, OTHER and
        // whatever a newer API adds.
        _ => FinishReason::Other,
    }
}
