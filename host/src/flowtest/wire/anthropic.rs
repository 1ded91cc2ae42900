//! Scripted replies as Anthropic Messages streams: `message_start`, a text block in deltas,
//! a `tool_use` block per call (its input as one `input_json_delta`), `message_delta` with the
//! stop reason and usage, `message_stop`.

use serde_json::{Value, json};

use crate::flowtest::spec::FullReply;
use crate::record::Asked;

pub fn error(status: u16) -> String {
    let kind = match status {
        429 => "rate_limit_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": format!("flow test: scripted error {status}")}})
        .to_string()
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

pub fn stream(number: usize, pieces: &[String], reply: &FullReply, asked: Asked<'_>) -> Vec<String> {
    let input_tokens = asked.body.len() / 4;
    let message = json!({
        "id": format!("msg_flowtest_{number}"),
        "type": "message",
        "role": "assistant",
        "model": "flowtest",
        "content": [],
        "stop_reason": null,
        "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    });
    let mut events = vec![event("message_start", json!({"type": "message_start", "message": message}))];
    let mut index = 0;
    if !pieces.is_empty() {
        let block =
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}});
        events.push(event("content_block_start", block));
        for piece in pieces {
            let delta =
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}});
            events.push(event("content_block_delta", delta));
        }
        events.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        index += 1;
    }
    for (call_index, call) in reply.tools.iter().enumerate() {
        let block = json!({"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": format!("toolu_{number}_{call_index}"), "name": call.name, "input": {}
        }});
        events.push(event("content_block_start", block));
        let delta = json!({"type": "content_block_delta", "index": index, "delta": {
            "type": "input_json_delta", "partial_json": call.arguments.to_string()
        }});
        events.push(event("content_block_delta", delta));
        events.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        index += 1;
    }
    let stop = if reply.tools.is_empty() { "end_turn" } else { "tool_use" };
    let output_tokens = pieces.len() + reply.tools.len();
    events.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
               "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}),
    ));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    events
}
