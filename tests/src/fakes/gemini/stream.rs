//! The `GenerateContentResponse` documents of a scripted answer.
//!
//! The shapes follow captured responses: keys in the API's order (`candidates`, `usageMetadata`,
//! `modelVersion`, `responseId`; in a candidate `content`, `finishReason`, `index`; in a content
//! `parts` then `role`), usage on every chunk with the final counts on the last, which also
//! carries the `finishReason`. A streamed chunk is one `data:` line ending in `\r\n\r\n`.

use bytes::Bytes;

use super::format::{pretty, stream_line};
use super::generate::GenerateScript;
use crate::fakes::ids::alnum_id;
use crate::fakes::wire::{Obj, array};

/// One scripted answer, rendered.
pub(super) struct Answer<'a> {
    script: &'a GenerateScript,
    model: &'a str,
    prompt_tokens: u32,
    response_id: String,
}

impl<'a> Answer<'a> {
    pub(super) fn new(script: &'a GenerateScript, model: &'a str, prompt_chars: usize, serial: u64) -> Self {
        let prompt_tokens = script.usage.map_or((prompt_chars / 4).max(1) as u32, |(prompt, _)| prompt);
        Answer { script, model, prompt_tokens, response_id: alnum_id(0x6e6d, serial, 23) }
    }

    fn candidates_tokens(&self) -> u32 {
        let pieces = self.script.text.len() + self.script.calls.len();
        self.script.usage.map_or(pieces.max(1) as u32, |(_, candidates)| candidates)
    }

    fn usage(&self, last: bool) -> Obj {
        let cached = self.script.cached_tokens;
        let thoughts = self.script.thoughts_tokens;
        let mut usage = Obj::new().int("promptTokenCount", self.prompt_tokens);
        let total = if last { self.prompt_tokens + self.candidates_tokens() + thoughts } else { self.prompt_tokens };
        if last {
            usage = usage.int("candidatesTokenCount", self.candidates_tokens());
        }
        usage = usage.int("totalTokenCount", total);
        if cached > 0 {
            usage = usage.int("cachedContentTokenCount", cached);
        }
        let details = Obj::new().str("modality", "TEXT").int("tokenCount", self.prompt_tokens).finish();
        usage = usage.raw("promptTokensDetails", array([details]));
        if cached > 0 {
            let details = Obj::new().str("modality", "TEXT").int("tokenCount", cached).finish();
            usage = usage.raw("cacheTokensDetails", array([details]));
        }
        if last && thoughts > 0 {
            usage = usage.int("thoughtsTokenCount", thoughts);
        }
        usage
    }

    fn response(&self, candidate: Option<Obj>, last: bool) -> String {
        let mut response = Obj::new();
        if let Some(candidate) = candidate {
            response = response.raw("candidates", array([candidate.finish()]));
        }
        response
            .obj("usageMetadata", self.usage(last))
            .str("modelVersion", self.model)
            .str("responseId", &self.response_id)
            .finish()
    }

    fn candidate(&self, parts: Vec<String>, finish: Option<&str>) -> Obj {
        let content = Obj::new().raw("parts", array(parts)).str("role", "model");
        let mut candidate = Obj::new().obj("content", content);
        if let Some(reason) = finish {
            candidate = candidate.str("finishReason", reason);
        }
        candidate.int("index", 0)
    }

    fn finish_reason(&self) -> &str {
        self.script.finish_reason.as_deref().unwrap_or("STOP")
    }

    fn call_parts(&self) -> Vec<String> {
        self.script
            .calls
            .iter()
            .map(|call| {
                let mut function = Obj::new();
                if let Some(id) = &call.id {
                    function = function.str("id", id);
                }
                function = function.str("name", &call.name);
                if let Some(args) = &call.args {
                    function = function.raw("args", args);
                }
                let part = Obj::new().obj("functionCall", function);
                match &call.signature {
                    Some(signature) => part.str("thoughtSignature", signature),
                    None => part,
                }
                .finish()
            })
            .collect()
    }

    /// The compact documents of the stream, in order.
    pub(super) fn chunks(&self) -> Vec<String> {
        if let Some(reason) = &self.script.blocked {
            let feedback = Obj::new().obj("promptFeedback", Obj::new().str("blockReason", reason));
            let blocked = feedback
                .obj("usageMetadata", self.usage(false))
                .str("modelVersion", self.model)
                .str("responseId", &self.response_id)
                .finish();
            return vec![blocked];
        }
        let text_part = |text: &str| Obj::new().str("text", text).finish();
        let mut chunks = Vec::new();
        let calls = self.call_parts();
        let texts = &self.script.text;
        for (i, text) in texts.iter().enumerate() {
            let last = i + 1 == texts.len() && calls.is_empty();
            let finish = last.then(|| self.finish_reason());
            chunks.push(self.response(Some(self.candidate(vec![text_part(text)], finish)), last));
        }
        if !calls.is_empty() {
            chunks.push(self.response(Some(self.candidate(calls, Some(self.finish_reason()))), true));
        } else if texts.is_empty() {
            chunks.push(self.response(Some(self.candidate(vec![text_part("")], Some(self.finish_reason()))), true));
        }
        chunks
    }

    /// The non-streamed response: all parts in one candidate, pretty-printed.
    pub(super) fn whole(&self) -> String {
        let chunks = self.chunks();
        if self.script.blocked.is_some() {
            return chunks.iter().map(|c| pretty(c)).collect();
        }
        let mut parts = Vec::new();
        if !self.script.text.is_empty() {
            parts.push(Obj::new().str("text", &self.script.text.concat()).finish());
        }
        parts.extend(self.call_parts());
        pretty(&self.response(Some(self.candidate(parts, Some(self.finish_reason()))), true))
    }
}

/// One server-sent event.
pub(super) fn event(document: &str) -> Bytes {
    Bytes::from(format!("data: {}\r\n\r\n", stream_line(document)))
}

/// `streamGenerateContent` without `alt=sse`: the chunks as one pretty-printed JSON array.
pub(super) fn json_array(chunks: &[String]) -> String {
    let items: Vec<String> = chunks.iter().map(|c| pretty(c)).collect();
    format!("[{}]", items.join(",\r\n"))
}
