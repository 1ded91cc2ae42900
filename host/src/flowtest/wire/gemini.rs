//! Scripted replies as Gemini `streamGenerateContent?alt=sse` streams: one
//! `GenerateContentResponse` per `data:` event, the words a few at a time as text parts, the
//! tool calls as `functionCall` parts of the last one with `finishReason: STOP` (Gemini says
//! STOP for calls too) and the usage. Errors are Google's JSON error document.

use serde_json::{Value, json};

use crate::flowtest::spec::FullReply;
use crate::record::Asked;

pub fn error(status: u16) -> String {
    let state = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    json!({"error": {"code": status, "message": format!("flow test: scripted error {status}"), "status": state}})
        .to_string()
}

pub fn stream(number: usize, pieces: &[String], reply: &FullReply, asked: Asked<'_>) -> Vec<String> {
    let prompt_tokens = asked.body.len() / 4;
    let response = |parts: Vec<Value>, finish: Option<&str>, completion_tokens: Option<usize>| {
        let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
        if let Some(finish) = finish {
            candidate["finishReason"] = json!(finish);
        }
        let mut usage = json!({"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens});
        if let Some(tokens) = completion_tokens {
            usage["candidatesTokenCount"] = json!(tokens);
            usage["totalTokenCount"] = json!(prompt_tokens + tokens);
        }
        let body = json!({
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "flowtest",
            "responseId": format!("flowtest-{number}"),
        });
        format!("data: {body}\r\n\r\n")
    };
    let (last, first) = pieces.split_last().map_or((None, &[][..]), |(last, first)| (Some(last), first));
    let mut events: Vec<String> =
        first.iter().map(|piece| response(vec![json!({"text": piece})], None, None)).collect();
    let mut parts: Vec<Value> = last.map(|piece| json!({"text": piece})).into_iter().collect();
    parts.extend(reply.tools.iter().map(|call| json!({"functionCall": {"name": call.name, "args": call.arguments}})));
    events.push(response(parts, Some("STOP"), Some(pieces.len() + reply.tools.len())));
    events
}
