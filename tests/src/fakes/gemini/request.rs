//! The `generateContent` body: the checks the real API makes cheaply, with its messages.
//!
//! Field names are checked like the API's JSON parser checks them (an unknown name refuses the
//! request, naming the field's path in snake_case as the API does); semantic errors read
//! `* GenerateContentRequest.<path>: <problem>`. Function calling follows the API's turn rules:
//! a function response turn answers the function call turn just before it, part for part.

use serde_json::{Map, Value};

use super::errors::{self, body};

/// What the fake needs from a valid request.
pub(super) struct GenerateRequest {
    /// Characters of system, content and tool text, for the default token estimate.
    pub(super) prompt_chars: usize,
}

/// A refusal: status and body.
pub(super) struct Refusal {
    pub(super) status: u16,
    pub(super) body: String,
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal { status: 400, body: body(400, &message.into(), Vec::new()) }
}

fn unknown(name: &str, at: Option<&str>) -> Refusal {
    Refusal { status: 400, body: errors::unknown_field(name, at) }
}

/// `* GenerateContentRequest.<path>: <problem>\n`, the API's form for semantic errors.
fn violation(path: &str, problem: &str) -> Refusal {
    invalid(format!("* GenerateContentRequest.{path}: {problem}\n"))
}

const TOP_LEVEL: &[&str] =
    &["contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig", "cachedContent"];
const PART: &[&str] = &[
    "text",
    "thought",
    "thoughtSignature",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
    "partMetadata",
];
const PART_DATA: &[&str] =
    &["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"];
const DECLARATION: &[&str] =
    &["name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"];
/// The `Schema` message's fields.
const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];
const TYPES: &[&str] = &["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"];
const GENERATION: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "mediaResolution",
    "imageConfig",
];

fn check_names(object: &Map<String, Value>, known: &[&str], at: Option<&str>) -> Result<(), Refusal> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(unknown(key, at)),
        None => Ok(()),
    }
}

/// Validates like the API does. `require_signatures`: refuse function calls of the current turn
/// sent back without their `thoughtSignature`, as Gemini 3 models do.
pub(super) fn parse(body: &[u8], require_signatures: bool) -> Result<GenerateRequest, Refusal> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|error| invalid(format!("Invalid JSON payload received. {}", json_problem(&error))))?;
    let Some(object) = json.as_object() else {
        return Err(invalid("Invalid JSON payload received. Expected an object."));
    };
    check_names(object, TOP_LEVEL, None)?;
    let mut prompt_chars = 0;
    if let Some(system) = object.get("systemInstruction") {
        prompt_chars += check_content(system, "system_instruction", false)?.text_chars;
    }
    let contents = match object.get("contents") {
        Some(Value::Array(contents)) if !contents.is_empty() => contents,
        _ => return Err(violation("contents", "contents is not specified")),
    };
    let mut turns = Vec::with_capacity(contents.len());
    for (i, content) in contents.iter().enumerate() {
        let turn = check_content(content, &format!("contents[{i}]"), true)?;
        prompt_chars += turn.text_chars;
        turns.push(turn);
    }
    check_function_turns(&turns)?;
    if require_signatures {
        check_signatures(&turns)?;
    }
    if let Some(tools) = object.get("tools") {
        prompt_chars += check_tools(tools)?;
    }
    if let Some(generation) = object.get("generationConfig") {
        check_generation(generation)?;
    }
    Ok(GenerateRequest { prompt_chars })
}

/// serde's wording without its position suffix.
fn json_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    text.split(" at line ").next().unwrap_or(&text).to_string()
}

/// What one content holds.
#[derive(Default)]
struct Turn {
    role: String,
    text_chars: usize,
    /// Has a non-empty text part (the user speaking, as opposed to answering calls).
    has_text: bool,
    /// `(name, signed)` of each `functionCall` part.
    calls: Vec<(String, bool)>,
    responses: usize,
}

fn check_content(content: &Value, path: &str, needs_role: bool) -> Result<Turn, Refusal> {
    let Some(object) = content.as_object() else {
        return Err(invalid(format!("Invalid JSON payload received. Expected an object at '{path}'.")));
    };
    check_names(object, &["role", "parts"], Some(path))?;
    let mut turn = Turn::default();
    match object.get("role").and_then(Value::as_str) {
        Some(role @ ("user" | "model")) => turn.role = role.to_string(),
        Some(_) if needs_role => return Err(invalid("Please use a valid role: user, model.")),
        None if needs_role => turn.role = "user".into(),
        _ => {}
    }
    let parts = match object.get("parts") {
        Some(Value::Array(parts)) if !parts.is_empty() => parts,
        _ => return Err(violation(&format!("{path}.parts"), "contents.parts must not be empty.")),
    };
    for (j, part) in parts.iter().enumerate() {
        let at = format!("{path}.parts[{j}]");
        let Some(part) = part.as_object() else {
            return Err(invalid(format!("Invalid JSON payload received. Expected an object at '{at}'.")));
        };
        check_names(part, PART, Some(&at))?;
        if !part.keys().any(|key| PART_DATA.contains(&key.as_str())) {
            return Err(violation(
                &format!("{at}.data"),
                "required oneof field 'data' must have one initialized field",
            ));
        }
        if let Some(text) = part.get("text") {
            let Some(text) = text.as_str() else {
                return Err(invalid(format!("Invalid value at '{at}.text' (TYPE_STRING)")));
            };
            turn.text_chars += text.chars().count();
            turn.has_text |= !text.trim().is_empty();
        }
        if let Some(call) = part.get("functionCall") {
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() {
                return Err(violation(&format!("{at}.function_call.name"), "Name cannot be empty."));
            }
            if call.get("args").is_some_and(|args| !args.is_object()) {
                return Err(invalid(format!(
                    "Invalid value at '{at}.function_call.args' (type.googleapis.com/google.protobuf.Struct)"
                )));
            }
            turn.text_chars += call.to_string().len();
            let signed = part.get("thoughtSignature").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
            turn.calls.push((name.to_string(), signed));
        }
        if let Some(response) = part.get("functionResponse") {
            if response.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(violation(&format!("{at}.function_response.name"), "Name cannot be empty."));
            }
            if !response.get("response").is_some_and(Value::is_object) {
                return Err(violation(&format!("{at}.function_response.response"), "response is not specified"));
            }
            turn.text_chars += response.to_string().len();
            turn.responses += 1;
        }
    }
    Ok(turn)
}

/// A function response turn comes right after a function call turn and answers every call.
fn check_function_turns(turns: &[Turn]) -> Result<(), Refusal> {
    for (n, turn) in turns.iter().enumerate() {
        if turn.responses == 0 {
            continue;
        }
        let calls = n.checked_sub(1).and_then(|p| turns.get(p)).map_or(0, |previous| previous.calls.len());
        if calls == 0 {
            return Err(invalid(
                "Please ensure that function response turn comes immediately after a function call turn.",
            ));
        }
        if calls != turn.responses {
            return Err(invalid(
                "Please ensure that the number of function response parts is equal to the number of function call \
                 parts of the function call turn.",
            ));
        }
    }
    Ok(())
}

/// Function calls since the user last spoke must carry their signature (the first call of each
/// model turn; parallel calls after it need none).
fn check_signatures(turns: &[Turn]) -> Result<(), Refusal> {
    let start = turns.iter().rposition(|t| t.role == "user" && t.has_text && t.responses == 0).map_or(0, |p| p + 1);
    for (n, turn) in turns.iter().enumerate().skip(start) {
        if let Some((name, false)) = turn.calls.first() {
            return Err(invalid(format!(
                "Function call is missing a thought_signature in functionCall parts. This is required for tools to \
                 work correctly, and missing thought_signature may lead to degraded model performance. Additional \
                 data, function call `default_api:{name}` , position {}. Please refer to \
                 https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
                n + 1
            )));
        }
    }
    Ok(())
}

fn check_tools(tools: &Value) -> Result<usize, Refusal> {
    let Some(tools) = tools.as_array() else {
        return Err(invalid("Invalid JSON payload received. Expected an array at 'tools'."));
    };
    let mut chars = 0;
    for (i, tool) in tools.iter().enumerate() {
        let Some(declarations) = tool.get("functionDeclarations") else { continue };
        let Some(declarations) = declarations.as_array() else {
            return Err(invalid(format!(
                "Invalid JSON payload received. Expected an array at 'tools[{i}].function_declarations'."
            )));
        };
        for (j, declaration) in declarations.iter().enumerate() {
            let at = format!("tools[{i}].function_declarations[{j}]");
            let Some(declaration) = declaration.as_object() else {
                return Err(invalid(format!("Invalid JSON payload received. Expected an object at '{at}'.")));
            };
            check_names(declaration, DECLARATION, Some(&at))?;
            let name = declaration.get("name").and_then(Value::as_str).unwrap_or_default();
            if !valid_function_name(name) {
                return Err(violation(
                    &format!("{at}.name"),
                    "Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, \
                     A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.",
                ));
            }
            if let Some(parameters) = declaration.get("parameters") {
                check_schema(parameters, &format!("{at}.parameters"))?;
                chars += parameters.to_string().len();
            }
            chars += name.len() + declaration.get("description").and_then(Value::as_str).map_or(0, str::len);
        }
    }
    Ok(chars)
}

fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

fn check_schema(schema: &Value, at: &str) -> Result<(), Refusal> {
    let Some(object) = schema.as_object() else {
        return Err(invalid(format!("Invalid JSON payload received. Expected an object at '{at}'.")));
    };
    check_names(object, SCHEMA, Some(at))?;
    let kind = match object.get("type") {
        None => None,
        Some(Value::String(kind)) if TYPES.contains(&kind.to_ascii_uppercase().as_str()) => {
            Some(kind.to_ascii_uppercase())
        }
        Some(other) => {
            return Err(invalid(format!(
                "Invalid value at '{at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), {other}"
            )));
        }
    };
    if object.contains_key("enum") && kind.as_deref().is_some_and(|k| k != "STRING") {
        return Err(violation(&format!("{at}.enum"), "only allowed for STRING type"));
    }
    let properties = object.get("properties").and_then(Value::as_object);
    if kind.as_deref() == Some("OBJECT") && properties.is_none_or(Map::is_empty) {
        return Err(violation(&format!("{at}.properties"), "should be non-empty for OBJECT type"));
    }
    if let Some(properties) = properties {
        for (k, property) in properties.values().enumerate() {
            check_schema(property, &format!("{at}.properties[{k}].value"))?;
        }
    }
    if let Some(required) = object.get("required").and_then(Value::as_array) {
        for (k, name) in required.iter().enumerate() {
            if !name.as_str().is_some_and(|n| properties.is_some_and(|p| p.contains_key(n))) {
                return Err(violation(&format!("{at}.required[{k}]"), "property is not defined"));
            }
        }
    }
    if let Some(items) = object.get("items") {
        check_schema(items, &format!("{at}.items"))?;
    }
    if let Some(any_of) = object.get("anyOf").and_then(Value::as_array) {
        for (k, alternative) in any_of.iter().enumerate() {
            check_schema(alternative, &format!("{at}.any_of[{k}]"))?;
        }
    }
    Ok(())
}

fn check_generation(generation: &Value) -> Result<(), Refusal> {
    let Some(generation) = generation.as_object() else {
        return Err(invalid("Invalid JSON payload received. Expected an object at 'generation_config'."));
    };
    check_names(generation, GENERATION, Some("generation_config"))?;
    if let Some(temperature) = generation.get("temperature")
        && !temperature.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t))
    {
        return Err(violation("generation_config.temperature", "must be in the range [0.0, 2.0]"));
    }
    if let Some(max) = generation.get("maxOutputTokens")
        && max.as_i64().is_none_or(|m| m <= 0)
    {
        return Err(violation("generation_config.max_output_tokens", "must be positive"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(body: Value, require_signatures: bool) -> Result<GenerateRequest, String> {
        parse(body.to_string().as_bytes(), require_signatures).map_err(|refusal| {
            let body: Value = serde_json::from_str(&refusal.body).unwrap_or_default();
            body["error"]["message"].as_str().unwrap_or_default().to_string()
        })
    }

    fn with_contents(contents: Value) -> Value {
        json!({"contents": contents})
    }

    #[test]
    fn contents_and_parts_are_required_with_the_apis_words() {
        assert_eq!(
            check(json!({}), false).err().as_deref(),
            Some("* GenerateContentRequest.contents: contents is not specified\n")
        );
        let empty_parts = with_contents(json!([{"role": "user", "parts": []}]));
        assert_eq!(
            check(empty_parts, false).err().as_deref(),
            Some("* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n")
        );
        let bad_role = with_contents(json!([{"role": "assistant", "parts": [{"text": "x"}]}]));
        assert_eq!(check(bad_role, false).err().as_deref(), Some("Please use a valid role: user, model."));
        let camel = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "system": "y"});
        assert_eq!(
            check(camel, false).err().as_deref(),
            Some("Invalid JSON payload received. Unknown name \"system\": Cannot find field.")
        );
    }

    #[test]
    fn schemas_are_the_apis_subset() {
        let tool = |parameters: Value| {
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
                   "tools": [{"functionDeclarations": [{"name": "f", "parameters": parameters}]}]})
        };
        let additional =
            tool(json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}));
        assert_eq!(
            check(additional, false).err().as_deref(),
            Some(
                "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters': Cannot find field."
            )
        );
        let nested = tool(json!({"type": "object", "properties": {"a": {"type": "string", "const": "x"}}}));
        assert!(check(nested, false).err().is_some_and(|m| {
            m.contains("\"const\" at 'tools[0].function_declarations[0].parameters.properties[0].value'")
        }));
        let empty = tool(json!({"type": "object", "properties": {}}));
        assert_eq!(
            check(empty, false).err().as_deref(),
            Some(
                "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties: should be non-empty for OBJECT type\n"
            )
        );
        let ghost = tool(json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}));
        assert!(
            check(ghost, false).err().is_some_and(|m| m.ends_with("parameters.required[0]: property is not defined\n"))
        );
        let fine = tool(
            json!({"type": "OBJECT", "properties": {"a": {"type": "string", "nullable": true, "enum": ["x"]}}, "required": ["a"]}),
        );
        assert!(check(fine, false).is_ok());
    }

    #[test]
    fn function_turns_pair_up_and_signatures_are_checked_when_required() {
        let call = |signed: bool| {
            let mut part = json!({"functionCall": {"name": "lookup", "args": {"id": 4}}});
            if signed {
                part["thoughtSignature"] = json!("c2ln");
            }
            json!({"role": "model", "parts": [part, {"functionCall": {"name": "time"}}]})
        };
        let answer = |n: usize| {
            let part = json!({"functionResponse": {"name": "lookup", "response": {"output": "ok"}}});
            json!({"role": "user", "parts": vec![part; n]})
        };
        let user = json!({"role": "user", "parts": [{"text": "Find 4."}]});
        assert!(check(with_contents(json!([user, call(true), answer(2)])), true).is_ok());
        assert_eq!(
            check(with_contents(json!([user, call(true), answer(1)])), false).err().as_deref(),
            Some(
                "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
            )
        );
        assert!(check(with_contents(json!([user, answer(1)])), false).is_err());
        let unsigned = check(with_contents(json!([user, call(false), answer(2)])), true).err().unwrap_or_default();
        assert!(unsigned.starts_with("Function call is missing a thought_signature"), "{unsigned}");
        // Earlier turns are not checked: only the calls since the user last spoke.
        let earlier = json!([user, call(false), answer(2), {"role": "model", "parts": [{"text": "Done."}]}, user]);
        assert!(check(with_contents(earlier), true).is_ok());
    }
}
