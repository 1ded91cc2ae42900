//! JSON option objects and request bodies.

use std::ops::RangeInclusive;

use serde_json::{Map, Number, Value};

/// Parses a provider-options / extras string. Empty text means `{}`; anything but an object is
/// an error message naming `what`.
pub fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("{what} must be a JSON object, got {}", type_name(&other))),
        Err(err) => Err(format!("{what} is not valid JSON: {err}")),
    }
}

/// The JSON Schema of a tool's arguments as the contract carries it (`parameters` text; empty
/// means no arguments), checked along with the tool's name.
pub fn tool_schema(name: &str, parameters: &str) -> Result<Value, String> {
    if name.trim().is_empty() {
        return Err("a tool definition has an empty name".into());
    }
    if parameters.trim().is_empty() {
        return Ok(serde_json::json!({"type": "object", "properties": {}}));
    }
    parse_object(parameters, &format!("parameters of tool `{name}`")).map(Value::Object)
}

/// Overlays `extras` onto `body`; an extra set to `null` removes the field, so a caller can drop
/// a default an OpenAI-compatible server rejects.
pub fn merge(body: &mut Map<String, Value>, extras: Map<String, Value>) {
    for (key, value) in extras {
        if value.is_null() {
            body.remove(&key);
        } else {
            body.insert(key, value);
        }
    }
}

/// An f32 as the JSON number a person wrote: `0.7`, not `0.699999988079071`.
pub fn f32_number(value: f32) -> Value {
    // Display prints the shortest decimal that round-trips the f32.
    format!("{value}").parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
}

/// `"string"`, `"number"`... for error messages about option types.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed reads of an options object, with messages that say which option is wrong.
pub trait OptionsExt {
    /// A string option; `Err` when present with another type.
    fn opt_str(&self, key: &str) -> Result<Option<&str>, String>;
    /// A boolean option.
    fn opt_bool(&self, key: &str) -> Result<Option<bool>, String>;
    /// A numeric option.
    fn opt_f64(&self, key: &str) -> Result<Option<f64>, String>;
}

impl OptionsExt for Map<String, Value> {
    fn opt_str(&self, key: &str) -> Result<Option<&str>, String> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("option `{key}` must be a string, got {}", type_name(other))),
        }
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!("option `{key}` must be a boolean, got {}", type_name(other))),
        }
    }

    fn opt_f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(format!("option `{key}` must be a number, got {}", type_name(other))),
        }
    }
}

/// A numeric option that must lie within `range`, as the `f32` request bodies carry.
pub fn ranged(options: &Map<String, Value>, key: &str, range: RangeInclusive<f64>) -> Result<Option<f32>, String> {
    match options.opt_f64(key)? {
        None => Ok(None),
        Some(value) if range.contains(&value) => Ok(Some(value as f32)),
        Some(value) => {
            Err(format!("option `{key}` must be between {} and {}, got {value}", range.start(), range.end()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_object_accepts_empty_and_objects() {
        assert!(parse_object("", "options").unwrap().is_empty());
        assert!(parse_object("  ", "options").unwrap().is_empty());
        assert_eq!(parse_object(r#"{"a":1}"#, "options").unwrap()["a"], json!(1));
    }

    #[test]
    fn parse_object_errors_name_the_input() {
        assert_eq!(parse_object("[1]", "extras").unwrap_err(), "extras must be a JSON object, got an array");
        assert!(parse_object("{", "extras").unwrap_err().starts_with("extras is not valid JSON: "));
    }

    #[test]
    fn merge_overrides_and_null_removes() {
        let mut body = json!({"model": "m", "stream_options": {"include_usage": true}, "n": 1});
        let Value::Object(body_map) = &mut body else { unreachable!() };
        let Value::Object(extras) = json!({"n": 2, "stream_options": null, "seed": 7}) else { unreachable!() };
        merge(body_map, extras);
        assert_eq!(body, json!({"model": "m", "n": 2, "seed": 7}));
    }

    #[test]
    fn f32_numbers_are_short() {
        assert_eq!(f32_number(0.7).to_string(), "0.7");
        assert_eq!(f32_number(1.0).to_string(), "1.0");
        assert_eq!(f32_number(f32::NAN), Value::Null);
    }

    #[test]
    fn typed_option_reads() {
        let Value::Object(options) = json!({"s": "x", "b": true, "n": 1.5, "z": null}) else { unreachable!() };
        assert_eq!(options.opt_str("s"), Ok(Some("x")));
        assert_eq!(options.opt_bool("b"), Ok(Some(true)));
        assert_eq!(options.opt_f64("n"), Ok(Some(1.5)));
        assert_eq!(options.opt_str("z"), Ok(None));
        assert_eq!(options.opt_str("missing"), Ok(None));
        assert_eq!(options.opt_bool("s").unwrap_err(), "option `s` must be a boolean, got a string");
        assert_eq!(options.opt_f64("b").unwrap_err(), "option `b` must be a number, got a boolean");
        assert_eq!(options.opt_str("n").unwrap_err(), "option `n` must be a string, got a number");
    }

    #[test]
    fn ranged_numbers() {
        let Value::Object(options) = json!({"speed": 1.1, "volume": 3, "style": "x"}) else { unreachable!() };
        assert_eq!(ranged(&options, "speed", 0.7..=1.2), Ok(Some(1.1)));
        assert_eq!(ranged(&options, "missing", 0.7..=1.2), Ok(None));
        assert_eq!(
            ranged(&options, "volume", 0.5..=2.0),
            Err("option `volume` must be between 0.5 and 2, got 3".into())
        );
        assert_eq!(ranged(&options, "style", 0.0..=1.0), Err("option `style` must be a number, got a string".into()));
    }
}
