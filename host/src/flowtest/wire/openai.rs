//! Scripted replies as OpenAI `chat.completion.chunk` streams: the words a few at a time, the
//! tool calls, the finish reason, the usage and `[DONE]`.

use serde_json::{Value, json};

use crate::flowtest::spec::FullReply;
use crate::record::Asked;

pub fn error(status: u16) -> String {
    json!({"error": {"message": format!("flow test: scripted error {status}"), "type": "server_error"}}).to_string()
}

pub fn stream(number: usize, pieces: &[String], reply: &FullReply, asked: Asked<'_>) -> Vec<String> {
    let id = format!("chatcmpl-flowtest-{number}");
    let chunk = |delta: Value, finish: Value| {
        let chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "flowtest",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {chunk}\n\n")
    };
    let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    chunks.extend(pieces.iter().map(|piece| chunk(json!({"content": piece}), Value::Null)));
    for (index, call) in reply.tools.iter().enumerate() {
        let delta = json!({"tool_calls": [{
            "index": index,
            "id": format!("call_{number}_{index}"),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments.to_string()},
        }]});
        chunks.push(chunk(delta, Value::Null));
    }
    let finish = if reply.tools.is_empty() { "stop" } else { "tool_calls" };
    chunks.push(chunk(json!({}), json!(finish)));
    let usage = json!({
        "id": id,
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": asked.body.len() / 4, "completion_tokens": pieces.len() + reply.tools.len()},
    });
    chunks.push(format!("data: {usage}\n\n"));
    chunks.push("data: [DONE]\n\n".to_string());
    chunks
}
