//! The `POST /chat/completions` body.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::json::{f32_number, merge, parse_object, tool_schema};

use crate::error::invalid;
use voiceblox_plugin_contract::types::ProviderError;
use voiceblox_plugin_sdk::llm::{Message, Request, Role, ToolDefinition};

/// Builds the streaming request body. `max_tokens_field` is the endpoint's name for the limit.
pub fn body(model: &str, request: &Request, max_tokens_field: &str) -> Result<Value, ProviderError> {
    if request.messages.is_empty() {
        return Err(invalid("chat request has no messages"));
    }
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(index, message)| message_json(index, message))
        .collect::<Result<Vec<_>, _>>()?;

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(tool_json).collect::<Result<Vec<_>, _>>()?;
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(temperature) = request.temperature {
        if !temperature.is_finite() {
            return Err(invalid(format!("temperature must be a finite number, got {temperature}")));
        }
        body.insert("temperature".into(), f32_number(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        body.insert(max_tokens_field.into(), json!(max_tokens));
    }
    merge(&mut body, parse_object(&request.extras, "request extras").map_err(invalid)?);
    Ok(Value::Object(body))
}

fn message_json(index: usize, message: &Message) -> Result<Value, ProviderError> {
    Ok(match message.role {
        Role::System => json!({"role": "system", "content": message.content}),
        Role::User => json!({"role": "user", "content": message.content}),
        Role::Assistant if message.tool_calls.is_empty() => {
            json!({"role": "assistant", "content": message.content})
        }
        Role::Assistant => {
            let calls: Vec<Value> = message
                .tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    })
                })
                .collect();
            // The API wants `null`, not "", beside tool calls when the turn said nothing.
            let content = if message.content.is_empty() { Value::Null } else { json!(message.content) };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        Role::Tool => {
            let Some(id) = message.tool_call_id.as_deref().filter(|id| !id.is_empty()) else {
                return Err(invalid(format!("message {index}: a tool result needs the tool-call-id it answers")));
            };
            json!({"role": "tool", "tool_call_id": id, "content": message.content})
        }
    })
}

fn tool_json(tool: &ToolDefinition) -> Result<Value, ProviderError> {
    let parameters = tool_schema(&tool.name, &tool.parameters).map_err(invalid)?;
    Ok(json!({
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_contract::types::ToolCall;
    use voiceblox_plugin_sdk::test_support::{llm_message as message, llm_request as request};

    #[test]
    fn full_conversation_with_tools() {
        let mut assistant = message(Role::Assistant, "");
        assistant.tool_calls = vec![ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
            provider_data: None,
        }];
        let mut tool = message(Role::Tool, r#"{"temp":21}"#);
        tool.tool_call_id = Some("call_1".into());
        let mut request = request(vec![
            message(Role::System, "Be brief."),
            message(Role::User, "Weather in Paris?"),
            assistant,
            tool,
        ]);
        request.tools = vec![ToolDefinition {
            name: "get_weather".into(),
            description: "Current weather".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
        }];
        request.temperature = Some(0.7);
        request.max_tokens = Some(256);
        request.extras = r#"{"parallel_tool_calls": false, "temperature": 0.2}"#.into();

        let body = body("gpt-4.1-mini", &request, "max_completion_tokens").unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-4.1-mini",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "tools": [{"type": "function", "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                }}],
                "temperature": 0.2,
                "max_completion_tokens": 256,
                "parallel_tool_calls": false,
            })
        );
    }

    #[test]
    fn temperature_is_written_as_given() {
        let mut request = request(vec![message(Role::User, "hi")]);
        request.temperature = Some(0.7);
        request.max_tokens = Some(10);
        let body = body("llama3.2", &request, "max_tokens").unwrap();
        assert_eq!(body["temperature"].to_string(), "0.7");
        assert_eq!(body["max_tokens"], json!(10));
        assert!(body.get("max_completion_tokens").is_none());
    }

    #[test]
    fn empty_parameters_mean_no_arguments() {
        let mut request = request(vec![message(Role::User, "hi")]);
        request.tools =
            vec![ToolDefinition { name: "end_call".into(), description: String::new(), parameters: String::new() }];
        let body = body("m", &request, "max_tokens").unwrap();
        assert_eq!(body["tools"][0]["function"]["parameters"], json!({"type": "object", "properties": {}}));
    }

    #[test]
    fn bad_requests_are_refused_with_reasons() {
        assert_eq!(body("m", &request(Vec::new()), "max_tokens").unwrap_err(), invalid("chat request has no messages"));

        let orphan = request(vec![message(Role::Tool, "42")]);
        assert_eq!(
            body("m", &orphan, "max_tokens").unwrap_err(),
            invalid("message 0: a tool result needs the tool-call-id it answers")
        );

        let mut bad_schema = request(vec![message(Role::User, "hi")]);
        bad_schema.tools =
            vec![ToolDefinition { name: "t".into(), description: String::new(), parameters: "{nope".into() }];
        let Err(ProviderError::InvalidRequest(reason)) = body("m", &bad_schema, "max_tokens") else {
            panic!("expected invalid-request");
        };
        assert!(reason.starts_with("parameters of tool `t` is not valid JSON"), "{reason}");

        let mut bad_extras = request(vec![message(Role::User, "hi")]);
        bad_extras.extras = "[]".into();
        assert_eq!(
            body("m", &bad_extras, "max_tokens").unwrap_err(),
            invalid("request extras must be a JSON object, got an array")
        );

        let mut nan = request(vec![message(Role::User, "hi")]);
        nan.temperature = Some(f32::NAN);
        assert!(matches!(body("m", &nan, "max_tokens"), Err(ProviderError::InvalidRequest(_))));
    }

    #[test]
    fn extras_null_removes_a_default() {
        let mut request = request(vec![message(Role::User, "hi")]);
        request.extras = r#"{"stream_options": null}"#.into();
        let body = body("m", &request, "max_tokens").unwrap();
        assert!(body.get("stream_options").is_none());
    }
}
