//! The `POST /v1/messages` body. The Messages API differs from chat completions in ways that
//! matter here: system text is a top-level field, not a message; a tool call is a `tool_use`
//! block of the assistant's content (its input a JSON object, not text); tool results go back
//! as `tool_result` blocks of the *user's* next message; roles must alternate, so adjacent
//! turns of one role (two tool results, a result then the user's words) become one message;
//! and `max_tokens` is required. A conversation that does not open with the user (the agent's
//! greeting, or nothing yet but the system prompt) gets an `(empty)` user turn first, as
//! LiveKit's Anthropic plugin does: the API wants the user to speak first.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::json::{f32_number, merge, parse_object, tool_schema};

use crate::error::invalid;
use voiceblox_plugin_contract::types::ProviderError;
use voiceblox_plugin_sdk::llm::{Message, Request, Role, ToolDefinition};

/// The user turn put first when the conversation opens with the agent.
pub const OPENING_TURN: &str = "(empty)";

/// The reply budget when the request names none: a spoken turn is a few sentences.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

pub fn body(model: &str, request: &Request) -> Result<Value, ProviderError> {
    let system: Vec<&str> =
        request.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let Some((role, blocks)) = blocks(index, message)? else { continue };
        match messages.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    if messages.first().is_none_or(|(role, _)| *role != "user") {
        messages.insert(0, ("user", vec![json!({"type": "text", "text": OPENING_TURN})]));
    }
    let messages: Vec<Value> =
        messages.into_iter().map(|(role, content)| json!({"role": role, "content": content})).collect();

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)));
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(tool_json).collect::<Result<Vec<_>, _>>()?;
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(temperature) = request.temperature {
        if !temperature.is_finite() {
            return Err(invalid(format!("temperature must be a finite number, got {temperature}")));
        }
        // The API accepts 0–1; an OpenAI-style 0–2 setting is clamped rather than refused.
        body.insert("temperature".into(), f32_number(temperature.clamp(0.0, 1.0)));
    }
    merge(&mut body, parse_object(&request.extras, "request extras").map_err(invalid)?);
    Ok(Value::Object(body))
}

/// The message's role on the wire and its content blocks; `None` for system text.
fn blocks(index: usize, message: &Message) -> Result<Option<(&'static str, Vec<Value>)>, ProviderError> {
    let text = |text: &str| json!({"type": "text", "text": text});
    Ok(Some(match message.role {
        Role::System => return Ok(None),
        // An empty text block is refused by the API; an empty turn says nothing.
        Role::User if message.content.is_empty() => return Ok(None),
        Role::User => ("user", vec![text(&message.content)]),
        Role::Assistant => {
            let mut blocks = Vec::new();
            if !message.content.trim().is_empty() {
                blocks.push(text(&message.content));
            }
            for call in &message.tool_calls {
                let input = if call.arguments.trim().is_empty() {
                    Map::new()
                } else {
                    let what = format!("message {index}: arguments of tool call `{}`", call.name);
                    parse_object(&call.arguments, &what).map_err(invalid)?
                };
                blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}));
            }
            if blocks.is_empty() {
                return Ok(None);
            }
            ("assistant", blocks)
        }
        Role::Tool => {
            let Some(id) = message.tool_call_id.as_deref().filter(|id| !id.is_empty()) else {
                return Err(invalid(format!("message {index}: a tool result needs the tool-call-id it answers")));
            };
            ("user", vec![json!({"type": "tool_result", "tool_use_id": id, "content": message.content})])
        }
    }))
}

fn tool_json(tool: &ToolDefinition) -> Result<Value, ProviderError> {
    let schema = tool_schema(&tool.name, &tool.parameters).map_err(invalid)?;
    Ok(json!({"name": tool.name, "description": tool.description, "input_schema": schema}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_contract::types::ToolCall;
    use voiceblox_plugin_sdk::test_support::{llm_message as message, llm_request as request, tool_result as result};

    #[test]
    fn a_conversation_with_two_tool_calls_in_the_messages_shape() {
        let mut assistant = message(Role::Assistant, "Let me look.");
        assistant.tool_calls = vec![
            ToolCall {
                id: "toolu_1".into(),
                name: "order".into(),
                arguments: r#"{"id": 42}"#.into(),
                provider_data: None,
            },
            ToolCall { id: "toolu_2".into(), name: "weather".into(), arguments: String::new(), provider_data: None },
        ];
        let mut request = request(vec![
            message(Role::System, "You are Ava."),
            message(Role::System, "Be brief."),
            message(Role::User, "Where is my order?"),
            assistant,
            result("toolu_1", "shipped"),
            result("toolu_2", "sunny"),
        ]);
        request.tools = vec![ToolDefinition {
            name: "order".into(),
            description: "Looks an order up.".into(),
            parameters: r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#.into(),
        }];
        request.temperature = Some(1.4);
        request.extras = r#"{"top_k": 5}"#.into();
        let body = body("claude-sonnet-4-5", &request).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "system": "You are Ava.\n\nBe brief.",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Where is my order?"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": "toolu_1", "name": "order", "input": {"id": 42}},
                        {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "shipped"},
                        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "sunny"}
                    ]}
                ],
                "stream": true,
                "tools": [{"name": "order", "description": "Looks an order up.",
                           "input_schema": {"type":"object","properties":{"id":{"type":"integer"}}}}],
                "temperature": 1.0,
                "top_k": 5
            })
        );
    }

    #[test]
    fn roles_alternate_and_bad_input_is_refused_with_the_reason() {
        // Two user turns in a row (a turn after an interruption) become one message.
        let body = body("m", &request(vec![message(Role::User, "Hi."), message(Role::User, "Anyone?")])).unwrap();
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
        assert_eq!(body["messages"][0]["content"].as_array().unwrap().len(), 2);
        // The agent speaks first (its greeting, or its opening line from the system prompt alone):
        // the API wants a user turn first.
        let opening = super::body("m", &request(vec![message(Role::System, "Greet.")])).unwrap();
        assert_eq!(opening["messages"], json!([{"role": "user", "content": [{"type": "text", "text": "(empty)"}]}]));
        let greeted = request(vec![message(Role::Assistant, "Welcome!"), message(Role::User, "Hi.")]);
        let greeted = super::body("m", &greeted).unwrap();
        assert_eq!(greeted["messages"][0]["role"], "user");
        assert_eq!(greeted["messages"][1]["content"][0]["text"], "Welcome!");
        let orphan = request(vec![message(Role::User, "x"), message(Role::Tool, "y")]);
        let error = super::body("m", &orphan).unwrap_err();
        assert!(matches!(&error, ProviderError::InvalidRequest(m) if m.contains("tool-call-id")), "{error:?}");
    }
}
