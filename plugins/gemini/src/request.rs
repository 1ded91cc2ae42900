//! The `streamGenerateContent` body. Gemini's request differs from chat completions in ways
//! that matter here:
//! - system text is `systemInstruction`, not a message;
//! - roles are `user` and `model`; a function call is a `functionCall` part of the model's
//!   content (its `args` an object, not text), and its result goes back as a `functionResponse`
//!   part of the next *user* content, named after the function (the contract names the call by
//!   id; the name is found on the assistant turn that made the call);
//! - adjacent contents of one role (two results, a result then the user's words) become one
//!   content, as the SDKs send them;
//! - a conversation that does not open with the user (the agent's greeting, or nothing yet but
//!   the system prompt) gets an `(empty)` user turn first: `contents` may not be empty and the
//!   API wants the user to speak first;
//! - sampling settings live in `generationConfig`.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::json::{f32_number, merge, parse_object, tool_schema};

use crate::error::invalid;
use crate::{schema, tool_id};
use voiceblox_plugin_contract::types::ProviderError;
use voiceblox_plugin_sdk::llm::{Message, Request, Role, ToolDefinition};

/// The user turn put first when the conversation opens with the agent.
pub const OPENING_TURN: &str = "(empty)";

pub fn body(request: &Request) -> Result<Value, ProviderError> {
    let system: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System && !m.content.trim().is_empty())
        .map(|m| json!({"text": m.content}))
        .collect();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        let Some((role, parts)) = parts(index, message, &request.messages[..index])? else { continue };
        match contents.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => contents.push((role, parts)),
        }
    }
    if contents.first().is_none_or(|(role, _)| *role != "user") {
        contents.insert(0, ("user", vec![json!({"text": OPENING_TURN})]));
    }
    let contents: Vec<Value> =
        contents.into_iter().map(|(role, parts)| json!({"role": role, "parts": parts})).collect();

    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    if !request.tools.is_empty() {
        let declarations = request.tools.iter().map(declaration).collect::<Result<Vec<_>, _>>()?;
        body.insert("tools".into(), json!([{ "functionDeclarations": declarations }]));
    }
    let mut generation = Map::new();
    if let Some(temperature) = request.temperature {
        if !temperature.is_finite() {
            return Err(invalid(format!("temperature must be a finite number, got {temperature}")));
        }
        // Gemini takes 0–2, as OpenAI does.
        generation.insert("temperature".into(), f32_number(temperature.clamp(0.0, 2.0)));
    }
    if let Some(max_tokens) = request.max_tokens {
        generation.insert("maxOutputTokens".into(), json!(max_tokens));
    }
    let mut extras = parse_object(&request.extras, "request extras").map_err(invalid)?;
    // `generationConfig` in the extras refines ours (`thinkingConfig`, `topK`...) rather than
    // replacing it, so a tuning option does not silently drop the temperature.
    if let Some(Value::Object(more)) = extras.remove("generationConfig") {
        merge(&mut generation, more);
    }
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    merge(&mut body, extras);
    Ok(Value::Object(body))
}

/// The message's role on the wire and its parts; `None` for system text and empty turns.
fn parts(
    index: usize,
    message: &Message,
    earlier: &[Message],
) -> Result<Option<(&'static str, Vec<Value>)>, ProviderError> {
    Ok(Some(match message.role {
        Role::System => return Ok(None),
        // An empty text part is refused by the API; an empty turn says nothing.
        Role::User if message.content.is_empty() => return Ok(None),
        Role::User => ("user", vec![json!({"text": message.content})]),
        Role::Assistant => {
            let mut parts = Vec::new();
            if !message.content.trim().is_empty() {
                parts.push(json!({"text": message.content}));
            }
            for call in &message.tool_calls {
                let args = if call.arguments.trim().is_empty() {
                    Map::new()
                } else {
                    let what = format!("message {index}: arguments of tool call `{}`", call.name);
                    parse_object(&call.arguments, &what).map_err(invalid)?
                };
                let mut function_call = json!({"name": call.name, "args": args});
                if let Some(id) = tool_id::api_id(&call.id) {
                    function_call["id"] = json!(id);
                }
                let mut part = json!({ "functionCall": function_call });
                if let Some(signature) = tool_id::signature(call.provider_data.as_deref()) {
                    part["thoughtSignature"] = json!(signature);
                }
                parts.push(part);
            }
            if parts.is_empty() {
                return Ok(None);
            }
            ("model", parts)
        }
        Role::Tool => {
            let Some(id) = message.tool_call_id.as_deref().filter(|id| !id.is_empty()) else {
                return Err(invalid(format!("message {index}: a tool result needs the tool-call-id it answers")));
            };
            let Some(name) = called_name(earlier, id) else {
                return Err(invalid(format!(
                    "message {index}: the tool result for `{id}` answers no tool call of an earlier assistant message"
                )));
            };
            let mut response = json!({"name": name, "response": {"output": message.content}});
            if let Some(api_id) = tool_id::api_id(id) {
                response["id"] = json!(api_id);
            }
            ("user", vec![json!({ "functionResponse": response })])
        }
    }))
}

/// The function name of the latest earlier call with this id.
fn called_name<'a>(earlier: &'a [Message], id: &str) -> Option<&'a str> {
    earlier
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .find_map(|m| m.tool_calls.iter().find(|call| call.id == id))
        .map(|call| call.name.as_str())
}

fn declaration(tool: &ToolDefinition) -> Result<Value, ProviderError> {
    let schema = tool_schema(&tool.name, &tool.parameters).map_err(invalid)?;
    let mut declaration = json!({"name": tool.name, "description": tool.description});
    if let Some(parameters) = schema::parameters(&schema) {
        declaration["parameters"] = parameters;
    }
    Ok(declaration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_contract::types::ToolCall;
    use voiceblox_plugin_sdk::test_support::{llm_message as message, llm_request as request, tool_result as result};

    #[test]
    fn a_conversation_with_two_function_calls_in_the_contents_shape() {
        let mut assistant = message(Role::Assistant, "Let me look.");
        assistant.tool_calls = vec![
            ToolCall {
                id: "gemini-call-r1-0".into(),
                name: "order".into(),
                arguments: r#"{"id": 42}"#.into(),
                provider_data: Some(r#"{"thoughtSignature":"c2lnMQ=="}"#.into()),
            },
            ToolCall { id: "fc_7".into(), name: "weather".into(), arguments: String::new(), provider_data: None },
        ];
        let mut request = request(vec![
            message(Role::System, "You are Ava."),
            message(Role::System, "Be brief."),
            message(Role::User, "Where is my order?"),
            assistant,
            result("gemini-call-r1-0", "shipped"),
            result("fc_7", "sunny"),
            message(Role::User, "Thanks!"),
        ]);
        request.tools = vec![
            ToolDefinition {
                name: "order".into(),
                description: "Looks an order up.".into(),
                parameters: r#"{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false}"#
                    .into(),
            },
            ToolDefinition {
                name: "weather".into(),
                description: "Today's weather.".into(),
                parameters: String::new(),
            },
        ];
        request.temperature = Some(2.5);
        request.max_tokens = Some(300);
        request.extras =
            r#"{"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}, "safetySettings": []}"#.into();
        let body = body(&request).unwrap();
        assert_eq!(
            body,
            json!({
                "systemInstruction": {"parts": [{"text": "You are Ava."}, {"text": "Be brief."}]},
                "contents": [
                    {"role": "user", "parts": [{"text": "Where is my order?"}]},
                    {"role": "model", "parts": [
                        {"text": "Let me look."},
                        {"functionCall": {"name": "order", "args": {"id": 42}}, "thoughtSignature": "c2lnMQ=="},
                        {"functionCall": {"name": "weather", "args": {}, "id": "fc_7"}}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"name": "order", "response": {"output": "shipped"}}},
                        {"functionResponse": {"name": "weather", "response": {"output": "sunny"}, "id": "fc_7"}},
                        {"text": "Thanks!"}
                    ]}
                ],
                "tools": [{"functionDeclarations": [
                    {"name": "order", "description": "Looks an order up.",
                     "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}}},
                    {"name": "weather", "description": "Today's weather."}
                ]}],
                "generationConfig": {"temperature": 2.0, "maxOutputTokens": 300, "thinkingConfig": {"thinkingBudget": 0}},
                "safetySettings": []
            })
        );
    }

    #[test]
    fn the_user_speaks_first_and_bad_input_is_refused_with_the_reason() {
        // The agent speaks first (its greeting, or its opening line from the system prompt alone).
        let opening = body(&request(vec![message(Role::System, "Greet.")])).unwrap();
        assert_eq!(opening["contents"], json!([{"role": "user", "parts": [{"text": "(empty)"}]}]));
        assert!(opening.get("generationConfig").is_none(), "no empty generationConfig");
        let greeted = body(&request(vec![message(Role::Assistant, "Welcome!"), message(Role::User, "Hi.")])).unwrap();
        assert_eq!(greeted["contents"][0]["role"], "user");
        assert_eq!(greeted["contents"][1], json!({"role": "model", "parts": [{"text": "Welcome!"}]}));
        // Two user turns in a row (a turn after an interruption) become one content.
        let doubled = body(&request(vec![message(Role::User, "Hi."), message(Role::User, "Anyone?")])).unwrap();
        assert_eq!(doubled["contents"][0]["parts"].as_array().map(Vec::len), Some(2));

        let orphan = body(&request(vec![message(Role::User, "x"), result("call_9", "y")])).unwrap_err();
        assert!(
            matches!(&orphan, ProviderError::InvalidRequest(m) if m.contains("answers no tool call")),
            "{orphan:?}"
        );
        let anonymous = body(&request(vec![message(Role::User, "x"), message(Role::Tool, "y")])).unwrap_err();
        assert!(matches!(&anonymous, ProviderError::InvalidRequest(m) if m.contains("tool-call-id")), "{anonymous:?}");
        let mut nan = request(vec![message(Role::User, "x")]);
        nan.temperature = Some(f32::NAN);
        assert!(matches!(body(&nan), Err(ProviderError::InvalidRequest(_))));
    }
}
