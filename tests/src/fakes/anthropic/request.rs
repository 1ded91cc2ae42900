//! The `POST /v1/messages` body: the checks the real API makes cheaply, with its messages.
//!
//! Field errors read like the API's (`max_tokens: Field required`, `messages.0.role: ...`).
//! Consecutive messages of the same role form one turn, as the API merges them today; tool
//! results are matched against the previous turn's tool calls.

use serde_json::{Map, Value};

/// What the fake needs from a valid request.
pub(super) struct MessagesRequest {
    pub(super) model: String,
    pub(super) stream: bool,
    /// Characters of system, message and tool text, for the default token estimate.
    pub(super) prompt_chars: usize,
}

/// Which role rules to enforce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Roles {
    /// Today's API: consecutive same-role messages are merged into one turn.
    #[default]
    Merged,
    /// The API until 2024: the first message must be `user` and roles must alternate.
    Alternating,
}

/// Validates like the API does; the error is the `invalid_request_error` message to send.
pub(super) fn parse(body: &[u8], roles: Roles) -> Result<MessagesRequest, String> {
    let json: Value = serde_json::from_slice(body).map_err(|error| not_json(body, &error))?;
    let Some(object) = json.as_object() else {
        return Err("Input should be a valid dictionary".into());
    };
    let model = match object.get("model") {
        Some(Value::String(model)) => model.clone(),
        Some(_) => return Err("model: Input should be a valid string".into()),
        None => return Err("model: Field required".into()),
    };
    match object.get("max_tokens") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 1) => {}
        Some(Value::Number(n)) if n.is_i64() => {
            return Err("max_tokens: Input should be greater than or equal to 1".into());
        }
        Some(_) => return Err("max_tokens: Input should be a valid integer".into()),
        None => return Err("max_tokens: Field required".into()),
    }
    let messages = match object.get("messages") {
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err("messages: Input should be a valid list".into()),
        None => return Err("messages: Field required".into()),
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut prompt_chars = check_system(object)? + check_tools(object)?;
    let mut turns: Vec<Turn> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let (role, content) = check_message(i, message, i + 1 == messages.len())?;
        prompt_chars += content.text_chars;
        match turns.last_mut() {
            Some(turn) if turn.role == role => {
                if roles == Roles::Alternating {
                    return Err(format!(
                        "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \
                         \"{role}\" roles in a row"
                    ));
                }
                turn.absorb(content);
            }
            _ => {
                if turns.is_empty() && role != "user" && roles == Roles::Alternating {
                    return Err("messages: first message must use the \"user\" role".into());
                }
                turns.push(Turn::new(role, content));
            }
        }
    }
    check_tool_pairing(&turns)?;
    if let Some(temperature) = object.get("temperature") {
        match temperature.as_f64() {
            Some(t) if (0.0..=1.0).contains(&t) => {}
            Some(t) if t < 0.0 => return Err("temperature: Input should be greater than or equal to 0".into()),
            Some(_) => return Err("temperature: Input should be less than or equal to 1".into()),
            None => return Err("temperature: Input should be a valid number".into()),
        }
    }
    let stream = match object.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err("stream: Input should be a valid boolean".into()),
    };
    Ok(MessagesRequest { model, stream, prompt_chars })
}

/// Python's `json` wording, which the API reports: `Expecting value: line 1 column 1 (char 0)`.
fn not_json(body: &[u8], error: &serde_json::Error) -> String {
    let text = error.to_string();
    let reason = text.split(" at line ").next().unwrap_or(&text);
    let (line, column) = (error.line().max(1), error.column().max(1));
    let offset: usize =
        String::from_utf8_lossy(body).split('\n').take(line - 1).map(|l| l.chars().count() + 1).sum::<usize>() + column
            - 1;
    format!("The request body is not valid JSON: {reason}: line {line} column {column} (char {offset})")
}

fn check_system(object: &Map<String, Value>) -> Result<usize, String> {
    match object.get("system") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(text)) => Ok(text.chars().count()),
        Some(Value::Array(blocks)) => {
            let mut chars = 0;
            for (i, block) in blocks.iter().enumerate() {
                match (block.get("type").and_then(Value::as_str), block.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(text)) => chars += text.chars().count(),
                    (Some("text"), None) => return Err(format!("system.{i}.text: Field required")),
                    _ => return Err(format!("system.{i}.type: Input should be 'text'")),
                }
            }
            Ok(chars)
        }
        Some(_) => Err("system: Input should be a valid list".into()),
    }
}

fn check_tools(object: &Map<String, Value>) -> Result<usize, String> {
    let tools = match object.get("tools") {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err("tools: Input should be a valid list".into()),
    };
    let mut chars = 0;
    for (i, tool) in tools.iter().enumerate() {
        // Server tools (`web_search_...`) carry a `type` and no schema.
        if tool.get("type").is_some_and(|kind| kind != "custom") {
            continue;
        }
        if tool.get("name").and_then(Value::as_str).is_none() {
            return Err(format!("tools.{i}.custom.name: Field required"));
        }
        match tool.get("input_schema") {
            Some(schema @ Value::Object(_)) => chars += schema.to_string().len(),
            Some(_) => return Err(format!("tools.{i}.custom.input_schema: Input should be a valid dictionary")),
            None => return Err(format!("tools.{i}.custom.input_schema: Field required")),
        }
        chars += tool.get("description").and_then(Value::as_str).map_or(0, str::len);
    }
    Ok(chars)
}

/// What one message contributes to its turn.
#[derive(Default)]
struct Content {
    text_chars: usize,
    /// `(message index, id)` of each `tool_use` block.
    tool_uses: Vec<(usize, String)>,
    /// `(message index, block index, tool_use_id)` of each `tool_result` block.
    tool_results: Vec<(usize, usize, String)>,
}

fn check_message(i: usize, message: &Value, last: bool) -> Result<(&str, Content), String> {
    let role = match message.get("role") {
        Some(Value::String(role)) if role == "user" || role == "assistant" => role.as_str(),
        Some(_) => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
        None => return Err(format!("messages.{i}.role: Field required")),
    };
    let mut content = Content::default();
    let empty = match message.get("content") {
        Some(Value::String(text)) => {
            content.text_chars = text.chars().count();
            text.is_empty()
        }
        Some(Value::Array(blocks)) => {
            for (j, block) in blocks.iter().enumerate() {
                check_block(i, j, block, &mut content)?;
            }
            blocks.is_empty()
        }
        Some(_) => return Err(format!("messages.{i}.content: Input should be a valid list")),
        None => return Err(format!("messages.{i}.content: Field required")),
    };
    if empty && !(last && role == "assistant") {
        return Err(format!(
            "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
        ));
    }
    Ok((role, content))
}

fn check_block(i: usize, j: usize, block: &Value, content: &mut Content) -> Result<(), String> {
    let path = format!("messages.{i}.content.{j}");
    let field = |name: &str| block.get(name);
    match field("type").and_then(Value::as_str) {
        Some("text") => match field("text").and_then(Value::as_str) {
            Some("") => return Err("messages: text content blocks must be non-empty".into()),
            Some(text) => content.text_chars += text.chars().count(),
            None => return Err(format!("{path}.text.text: Field required")),
        },
        Some("tool_use") => {
            let Some(id) = field("id").and_then(Value::as_str) else {
                return Err(format!("{path}.tool_use.id: Field required"));
            };
            if field("name").and_then(Value::as_str).is_none() {
                return Err(format!("{path}.tool_use.name: Field required"));
            }
            if !field("input").is_some_and(Value::is_object) {
                return Err(format!("{path}.tool_use.input: Input should be a valid dictionary"));
            }
            content.tool_uses.push((i, id.to_owned()));
        }
        Some("tool_result") => {
            let Some(id) = field("tool_use_id").and_then(Value::as_str) else {
                return Err(format!("{path}.tool_result.tool_use_id: Field required"));
            };
            if field("is_error").is_some_and(|e| !e.is_boolean() && !e.is_null()) {
                return Err(format!("{path}.tool_result.is_error: Input should be a valid boolean"));
            }
            content.text_chars += field("content").map_or(0, |c| c.as_str().map_or(c.to_string().len(), str::len));
            content.tool_results.push((i, j, id.to_owned()));
        }
        // Images, documents, thinking blocks...: accepted unchecked.
        Some(_) => content.text_chars += block.to_string().len(),
        None => return Err(format!("{path}.type: Field required")),
    }
    Ok(())
}

/// Consecutive messages of one role.
struct Turn<'a> {
    role: &'a str,
    content: Content,
}

impl<'a> Turn<'a> {
    fn new(role: &'a str, content: Content) -> Self {
        Turn { role, content }
    }

    fn absorb(&mut self, content: Content) {
        self.content.text_chars += content.text_chars;
        self.content.tool_uses.extend(content.tool_uses);
        self.content.tool_results.extend(content.tool_results);
    }
}

/// Every `tool_result` answers a `tool_use` of the turn just before (checked first: it names the
/// stray block), and every `tool_use` that is followed by a turn is answered in it.
fn check_tool_pairing(turns: &[Turn]) -> Result<(), String> {
    for (n, turn) in turns.iter().enumerate() {
        let previous = n.checked_sub(1).and_then(|p| turns.get(p));
        for (i, j, id) in &turn.content.tool_results {
            let asked = previous.is_some_and(|p| p.content.tool_uses.iter().any(|(_, use_id)| use_id == id));
            if !asked {
                return Err(format!(
                    "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each \
                     `tool_result` block must have a corresponding `tool_use` block in the previous message."
                ));
            }
        }
        let Some(previous) = previous else { continue };
        let unanswered: Vec<&(usize, String)> = previous
            .content
            .tool_uses
            .iter()
            .filter(|(_, id)| !turn.content.tool_results.iter().any(|(_, _, result_id)| result_id == id))
            .collect();
        if let Some((i, _)) = unanswered.first() {
            let ids: Vec<&str> = unanswered.iter().map(|(_, id)| id.as_str()).collect();
            return Err(format!(
                "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each \
                 `tool_use` block must have a corresponding `tool_result` block in the next message.",
                ids.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(body: Value, roles: Roles) -> Result<MessagesRequest, String> {
        parse(body.to_string().as_bytes(), roles)
    }

    fn with_messages(messages: Value) -> Value {
        json!({"model": "claude-test", "max_tokens": 64, "messages": messages})
    }

    #[test]
    fn required_fields_are_named_like_the_api_names_them() {
        let missing = check(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}), Roles::Merged);
        assert_eq!(missing.err().as_deref(), Some("max_tokens: Field required"));
        let empty = check(with_messages(json!([])), Roles::Merged);
        assert_eq!(empty.err().as_deref(), Some("messages: at least one message is required"));
        let role = check(with_messages(json!([{"role": "system", "content": "x"}])), Roles::Merged);
        assert_eq!(role.err().as_deref(), Some("messages.0.role: Input should be 'user' or 'assistant'"));
        let garbage = parse(b"{oops", Roles::Merged).err().unwrap_or_default();
        assert!(garbage.starts_with("The request body is not valid JSON: "), "{garbage}");
        assert!(garbage.ends_with("line 1 column 2 (char 1)"), "{garbage}");
    }

    #[test]
    fn consecutive_roles_merge_unless_alternation_is_required() {
        let doubled = with_messages(json!([
            {"role": "user", "content": "a"}, {"role": "user", "content": "b"}
        ]));
        assert!(check(doubled.clone(), Roles::Merged).is_ok());
        let refused = check(doubled, Roles::Alternating).err().unwrap_or_default();
        assert_eq!(
            refused,
            "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row"
        );
        let assistant_first = with_messages(json!([{"role": "assistant", "content": "a"}]));
        assert!(check(assistant_first.clone(), Roles::Merged).is_ok());
        assert_eq!(
            check(assistant_first, Roles::Alternating).err().as_deref(),
            Some("messages: first message must use the \"user\" role")
        );
    }

    #[test]
    fn tool_results_must_answer_the_previous_turn() {
        let call = json!({"role": "assistant", "content": [
            {"type": "text", "text": "Looking."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"id": 4}}]});
        let answer = |id: &str| json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "ok"}]});
        let user = json!({"role": "user", "content": "Find 4."});
        let good = with_messages(json!([user, call, answer("toolu_1"), {"role": "user", "content": "thanks"}]));
        assert!(check(good, Roles::Merged).is_ok());
        let stray = check(with_messages(json!([user, call, answer("toolu_9")])), Roles::Merged).err();
        assert!(stray.is_some_and(|e| e.starts_with("messages.2.content.0: unexpected `tool_use_id`")));
        let unanswered = check(with_messages(json!([user, call, user])), Roles::Merged).err();
        assert!(unanswered.is_some_and(|e| e.starts_with(
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1."
        )));
    }
}
