//! Tool parameter schemas in the subset Gemini's `FunctionDeclaration.parameters` accepts.
//!
//! `parameters` is the API's own `Schema` message (an OpenAPI 3.0 subset), not JSON Schema: a
//! keyword it does not know refuses the whole request (`Invalid JSON payload received. Unknown
//! name "additionalProperties" at 'tools[0].function_declarations[0].parameters': Cannot find
//! field.`), and MCP servers and pydantic write exactly those keywords. So the schema is rebuilt
//! from the keywords the message has, translating what has an equivalent:
//! - `type: ["string", "null"]` becomes `type: "string"` with `nullable: true` (several non-null
//!   types become an `anyOf`);
//! - `const` becomes a one-value `enum`, `oneOf` becomes `anyOf`, a single-schema `allOf` is
//!   merged in;
//! - local `$ref`s (`#/$defs/...`, `#/definitions/...`) are inlined, to a bounded depth;
//! - `enum` is kept only when its values are strings (the API refuses others), `format` only
//!   when the API knows it for the type, and `required` only for properties that exist (the API
//!   refuses `required` naming an undefined property).
//!
//! Everything else (`$schema`, `additionalProperties`, `exclusiveMinimum`, `multipleOf`,
//! `propertyNames`, `examples`...) is dropped: the model loses a hint, the request goes through.

use serde_json::{Map, Value};

/// Keywords copied as they are.
const KEPT: &[&str] = &[
    "title",
    "description",
    "nullable",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "default",
    "example",
    "propertyOrdering",
];

/// Nested `$ref`s inlined before a reference is dropped (a recursive type would never end).
const MAX_REF_DEPTH: usize = 8;

/// The schema for `parameters`, or `None` when the function takes no arguments: the API refuses
/// an `OBJECT` schema with empty `properties`, so such a declaration goes without `parameters`.
pub fn parameters(schema: &Value) -> Option<Value> {
    let cleaned = clean(schema, schema, 0);
    let no_properties = cleaned.get("properties").and_then(Value::as_object).is_none_or(Map::is_empty);
    let is_object = cleaned.get("type").and_then(Value::as_str).is_none_or(|t| t.eq_ignore_ascii_case("object"));
    if is_object && no_properties { None } else { Some(cleaned) }
}

fn clean(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(object) = schema.as_object() else {
        // `true` (anything goes) and other non-schemas: nothing the API could check.
        return Value::Object(Map::new());
    };
    if let Some(target) = object.get("$ref").and_then(Value::as_str) {
        let resolved = (depth < MAX_REF_DEPTH).then(|| resolve(root, target)).flatten();
        let mut inlined = resolved.map_or_else(Map::new, |target| into_map(clean(target, root, depth + 1)));
        // Keywords beside the `$ref` (a description, say) refine the target.
        let siblings: Map<String, Value> =
            object.iter().filter(|(k, _)| *k != "$ref").map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, value) in into_map(clean(&Value::Object(siblings), root, depth)) {
            inlined.insert(key, value);
        }
        return Value::Object(inlined);
    }

    let mut out = Map::new();
    for key in KEPT {
        if let Some(value) = object.get(*key) {
            out.insert((*key).to_string(), value.clone());
        }
    }
    match object.get("type") {
        Some(Value::String(kind)) => {
            out.insert("type".into(), Value::String(kind.clone()));
        }
        Some(Value::Array(kinds)) => {
            let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
            let concrete: Vec<&str> = kinds.iter().copied().filter(|k| *k != "null").collect();
            if concrete.len() < kinds.len() {
                out.insert("nullable".into(), Value::Bool(true));
            }
            match concrete.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), Value::String((*one).to_string()));
                }
                several => {
                    let each = several.iter().map(|k| serde_json::json!({ "type": k })).collect();
                    out.insert("anyOf".into(), Value::Array(each));
                }
            }
        }
        _ => {}
    }
    let kind = out.get("type").and_then(Value::as_str).map(str::to_ascii_lowercase);

    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        if values.iter().all(Value::is_string) && !values.is_empty() {
            out.insert("enum".into(), Value::Array(values.clone()));
        }
    } else if let Some(Value::String(value)) = object.get("const") {
        out.insert("enum".into(), Value::Array(vec![Value::String(value.clone())]));
    }
    if out.contains_key("enum") && kind.is_none() {
        out.insert("type".into(), Value::String("string".into()));
    }
    if let Some(format) = object.get("format").and_then(Value::as_str)
        && format_known(kind.as_deref(), format)
    {
        out.insert("format".into(), Value::String(format.to_string()));
    }

    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        let cleaned: Map<String, Value> =
            properties.iter().map(|(name, property)| (name.clone(), clean(property, root, depth))).collect();
        if let Some(required) = object.get("required").and_then(Value::as_array) {
            let known: Vec<Value> = required
                .iter()
                .filter(|name| name.as_str().is_some_and(|n| cleaned.contains_key(n)))
                .cloned()
                .collect();
            if !known.is_empty() {
                out.insert("required".into(), Value::Array(known));
            }
        }
        out.insert("properties".into(), Value::Object(cleaned));
    }
    match object.get("items") {
        Some(items @ Value::Object(_)) => {
            out.insert("items".into(), clean(items, root, depth));
        }
        // Tuple validation (draft 4-7 `items: [...]`): the first position's schema is the best hint.
        Some(Value::Array(positions)) if !positions.is_empty() => {
            out.insert("items".into(), clean(&positions[0], root, depth));
        }
        _ => {}
    }
    if let Some(alternatives) = object.get("anyOf").or_else(|| object.get("oneOf")).and_then(Value::as_array) {
        let cleaned = alternatives.iter().map(|a| clean(a, root, depth)).collect();
        out.insert("anyOf".into(), Value::Array(cleaned));
    }
    if let Some([single]) = object.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        for (key, value) in into_map(clean(single, root, depth)) {
            out.entry(key).or_insert(value);
        }
    }
    Value::Object(out)
}

/// The schema a local `$ref` points at: `#/$defs/Name`, `#/definitions/Name`, any JSON pointer
/// into the root document.
fn resolve<'a>(root: &'a Value, target: &str) -> Option<&'a Value> {
    let pointer = target.strip_prefix('#')?;
    root.pointer(pointer)
}

/// The formats the API accepts per type; others are refused with the request.
fn format_known(kind: Option<&str>, format: &str) -> bool {
    matches!(
        (kind, format),
        (Some("string"), "enum" | "date-time")
            | (Some("integer"), "int32" | "int64")
            | (Some("number"), "float" | "double")
    )
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_keywords_go_and_equivalents_are_translated() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "description": "City name", "minLength": 1, "format": "hostname"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                "days": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 1, "format": "int32"},
                "kind": {"const": "forecast"},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "propertyNames": {}}, "maxItems": 3},
                "level": {"type": "integer", "enum": [1, 2, 3]},
                "either": {"oneOf": [{"type": "string"}, {"type": "number"}]}
            },
            "required": ["city", "ghost"]
        });
        assert_eq!(
            parameters(&schema),
            Some(json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name", "minLength": 1},
                    "unit": {"type": "string", "nullable": true, "enum": ["c", "f"]},
                    "days": {"type": "integer", "format": "int32"},
                    "kind": {"type": "string", "enum": ["forecast"]},
                    "when": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                    "level": {"type": "integer"},
                    "either": {"anyOf": [{"type": "string"}, {"type": "number"}]}
                },
                "required": ["city"]
            }))
        );
    }

    #[test]
    fn local_refs_are_inlined_and_recursion_is_bounded() {
        let schema = json!({
            "type": "object",
            "$defs": {
                "Address": {"type": "object", "properties": {"street": {"type": "string"}}, "title": "Address"},
                "Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}
            },
            "properties": {
                "home": {"$ref": "#/$defs/Address", "description": "Where they live"},
                "chain": {"$ref": "#/$defs/Node"},
                "lost": {"$ref": "https://example.com/schema.json"}
            }
        });
        let cleaned = parameters(&schema).unwrap();
        assert_eq!(
            cleaned["properties"]["home"],
            json!({"type": "object", "title": "Address", "description": "Where they live",
                   "properties": {"street": {"type": "string"}}})
        );
        assert_eq!(cleaned["properties"]["lost"], json!({}));
        let mut depth = 0;
        let mut node = &cleaned["properties"]["chain"];
        while let Some(next) = node.get("properties").and_then(|p| p.get("next")) {
            depth += 1;
            node = next;
        }
        assert_eq!(depth, MAX_REF_DEPTH, "a recursive type is cut, not followed forever");
    }

    #[test]
    fn a_function_without_arguments_has_no_parameters() {
        assert_eq!(parameters(&json!({"type": "object", "properties": {}})), None);
        assert_eq!(parameters(&json!({"type": "object", "additionalProperties": false})), None);
        assert_eq!(parameters(&json!({})), None);
        assert!(parameters(&json!({"type": "object", "properties": {"a": {"type": "string"}}})).is_some());
    }
}
