//! After the call: Structured Output (an LLM extracts the configured fields from the
//! transcript) and the post-call webhook `{conversation, structuredOutput?}`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::history::Entry;
use crate::config::{FieldType, OutputField};

/// The post-call webhook's body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCallPayload<'a> {
    pub conversation: &'a [Entry],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_output: Option<&'a Map<String, Value>>,
}

/// The extraction request: a system prompt with the fields' JSON schema, and the transcript.
/// The designer's `command`, when there is one, says what to extract and how.
pub fn extraction_prompt(fields: &[OutputField], command: Option<&str>, transcript: &str) -> (String, String) {
    let properties: Map<String, Value> = fields.iter().map(|f| (f.name.clone(), field_schema(f))).collect();
    let schema = json!({"type": "object", "properties": properties});
    let mut system = format!(
        "You extract data from a finished conversation between a user and an agent. Answer with one JSON \
         object and nothing else, matching this JSON Schema; use null for anything the conversation does not \
         say:\n{schema}"
    );
    if let Some(command) = command.map(str::trim).filter(|c| !c.is_empty()) {
        system.push_str("\n\nInstructions for the extraction:\n");
        system.push_str(command);
    }
    (system, format!("Conversation:\n{transcript}"))
}

fn field_schema(field: &OutputField) -> Value {
    let mut schema = match field.kind {
        FieldType::String => json!({"type": "string"}),
        FieldType::Int => json!({"type": "integer"}),
        FieldType::Float => json!({"type": "number"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::List => json!({"type": "array", "items": {"type": "string"}}),
        FieldType::Enum => json!({"type": "string", "enum": field.options}),
    };
    if let Some(description) = &field.description {
        schema["description"] = description.clone().into();
    }
    schema
}

/// Reads the model's answer into exactly the configured fields, each coerced to its type or
/// null; `None` when the answer holds no JSON object at all.
pub fn parse_extraction(answer: &str, fields: &[OutputField]) -> Option<Map<String, Value>> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    let object: Map<String, Value> = serde_json::from_str(answer.get(start..=end)?).ok()?;
    Some(fields.iter().map(|f| (f.name.clone(), coerce(object.get(&f.name), f))).collect())
}

fn coerce(value: Option<&Value>, field: &OutputField) -> Value {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Value::Null };
    match field.kind {
        FieldType::String => match value {
            Value::String(_) => value.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string().into(),
            _ => Value::Null,
        },
        FieldType::Int => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            Value::Number(n) => n.as_f64().filter(|f| f.fract() == 0.0).map_or(Value::Null, |f| json!(f as i64)),
            Value::String(s) => s.trim().parse::<i64>().map_or(Value::Null, Value::from),
            _ => Value::Null,
        },
        FieldType::Float => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => {
                s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
            }
            _ => Value::Null,
        },
        FieldType::Boolean => match value {
            Value::Bool(_) => value.clone(),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" => true.into(),
                "false" | "no" => false.into(),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
        FieldType::List => match value {
            Value::Array(_) => value.clone(),
            Value::String(s) => Value::Array(vec![s.clone().into()]),
            _ => Value::Null,
        },
        FieldType::Enum => {
            let text = value.as_str().unwrap_or_default().trim().to_lowercase();
            field.options.iter().find(|o| o.to_lowercase() == text).map_or(Value::Null, |o| o.clone().into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<OutputField> {
        serde_json::from_value(json!([
            {"name": "name", "type": "string"},
            {"name": "budget", "type": "int"},
            {"name": "score", "type": "float"},
            {"name": "wantsDemo", "type": "boolean"},
            {"name": "topics", "type": "list"},
            {"name": "plan", "type": "enum", "options": ["Basic", "Pro"]}
        ]))
        .unwrap()
    }

    #[test]
    fn extraction_is_coerced_to_the_configured_fields() {
        let answer = r#"Here you go: ```json
            {"name": "Dana", "budget": "500", "score": 4, "wantsDemo": "yes", "topics": ["pricing"], "plan": "pro", "extra": 1}
            ```"#;
        let out = parse_extraction(answer, &fields()).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"name": "Dana", "budget": 500, "score": 4, "wantsDemo": true, "topics": ["pricing"], "plan": "Pro"})
        );
        let out = parse_extraction(r#"{"budget": 1.5, "plan": "gold"}"#, &fields()).unwrap();
        assert_eq!(out["budget"], Value::Null);
        assert_eq!(out["plan"], Value::Null);
        assert_eq!(out["name"], Value::Null);
        assert!(parse_extraction("no idea", &fields()).is_none());
    }

    #[test]
    fn the_prompt_carries_a_schema_of_every_field() {
        let (system, user) = extraction_prompt(&fields(), None, "User: hi\n");
        assert!(system.contains(r#""plan":{"enum":["Basic","Pro"],"type":"string"}"#), "{system}");
        assert!(system.contains(r#""budget":{"type":"integer"}"#));
        assert!(!system.contains("Instructions"));
        assert!(user.ends_with("User: hi\n"));
    }

    #[test]
    fn the_designers_command_joins_the_prompt() {
        let (system, _) = extraction_prompt(&fields(), Some("  Budgets are monthly, in euros. "), "User: hi\n");
        assert!(system.ends_with("Instructions for the extraction:\nBudgets are monthly, in euros."), "{system}");
        let (blank, _) = extraction_prompt(&fields(), Some("  "), "User: hi\n");
        assert!(!blank.contains("Instructions"));
    }
}
