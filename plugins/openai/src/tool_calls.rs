//! Reassembling streamed tool calls.
//!
//! A call streams as deltas keyed by `index`: the first carries `id` and `function.name`, later
//! ones carry pieces of `function.arguments`. Several calls may interleave. A call is only
//! complete when the choice finishes, so nothing is emitted before then.

use serde_json::Value;

use crate::llm_chunk::ToolCallDelta;
use voiceblox_plugin_contract::types::ToolCall;

#[derive(Debug, Default)]
struct Partial {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Tool calls being received, in index order.
#[derive(Debug, Default)]
pub struct ToolCallAccumulator {
    calls: Vec<Partial>,
}

impl ToolCallAccumulator {
    /// Adds one delta.
    pub fn push(&mut self, delta: &ToolCallDelta) {
        let index = delta.index.unwrap_or_else(|| self.guess_index(delta.id.as_deref()));
        let position = match self.calls.binary_search_by_key(&index, |c| c.index) {
            Ok(position) => position,
            Err(position) => {
                self.calls.insert(position, Partial { index, ..Partial::default() });
                position
            }
        };
        let call = &mut self.calls[position];
        if let Some(id) = delta.id.as_deref().filter(|id| !id.is_empty()) {
            call.id = id.to_string();
        }
        let Some(function) = &delta.function else { return };
        if let Some(name) = function.name.as_deref().filter(|n| !n.is_empty()) {
            // OpenAI sends the name once; servers that repeat it whole must not double it.
            if call.name.is_empty() {
                call.name = name.to_string();
            } else if call.name != name {
                call.name.push_str(name);
            }
        }
        match &function.arguments {
            Some(Value::String(piece)) => call.arguments.push_str(piece),
            Some(Value::Null) | None => {}
            Some(object) => call.arguments.push_str(&object.to_string()),
        }
    }

    /// True when no call is pending.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The complete calls, in index order; empties the accumulator.
    pub fn take(&mut self) -> Result<Vec<ToolCall>, String> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|call| {
                if call.name.is_empty() {
                    return Err(format!("tool call {} arrived without a function name", call.index));
                }
                Ok(ToolCall {
                    // Some local servers omit ids; the id only has to match the tool result.
                    id: if call.id.is_empty() { format!("call_{}", call.index) } else { call.id },
                    name: call.name,
                    arguments: if call.arguments.trim().is_empty() { "{}".into() } else { call.arguments },
                    provider_data: None,
                })
            })
            .collect()
    }

    /// Servers that omit `index` send each call whole or with a fresh id: a new id is a new
    /// call, anything else continues the last one.
    fn guess_index(&self, id: Option<&str>) -> u32 {
        match (self.calls.last(), id.filter(|id| !id.is_empty())) {
            (None, _) => 0,
            (Some(last), Some(id)) if !last.id.is_empty() && last.id != id => last.index + 1,
            (Some(last), _) => last.index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(json: &str) -> ToolCallDelta {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn interleaved_calls_reassemble_by_index() {
        let mut acc = ToolCallAccumulator::default();
        for d in [
            r#"{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}"#,
            r#"{"index":0,"function":{"arguments":"{\"ci"}}"#,
            r#"{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}"#,
            r#"{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}}"#,
            r#"{"index":1,"function":{"arguments":"{\"tz\":\"CET\"}"}}"#,
        ] {
            acc.push(&delta(d));
        }
        assert_eq!(
            acc.take().unwrap(),
            [
                ToolCall {
                    id: "call_a".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into(),
                    provider_data: None
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "get_time".into(),
                    arguments: r#"{"tz":"CET"}"#.into(),
                    provider_data: None
                },
            ]
        );
        assert!(acc.is_empty());
    }

    #[test]
    fn missing_index_and_id_and_object_arguments() {
        let mut acc = ToolCallAccumulator::default();
        acc.push(&delta(r#"{"id":"x1","function":{"name":"a","arguments":{"k":1}}}"#));
        acc.push(&delta(r#"{"id":"x2","function":{"name":"b"}}"#));
        acc.push(&delta(r#"{"function":{"name":"b","arguments":"{}"}}"#));
        let calls = acc.take().unwrap();
        assert_eq!(
            calls[0],
            ToolCall { id: "x1".into(), name: "a".into(), arguments: r#"{"k":1}"#.into(), provider_data: None }
        );
        assert_eq!(
            calls[1],
            ToolCall { id: "x2".into(), name: "b".into(), arguments: "{}".into(), provider_data: None }
        );

        acc.push(&delta(r#"{"index":3,"function":{"name":"c"}}"#));
        assert_eq!(
            acc.take().unwrap()[0],
            ToolCall { id: "call_3".into(), name: "c".into(), arguments: "{}".into(), provider_data: None }
        );
    }

    #[test]
    fn nameless_call_is_an_error() {
        let mut acc = ToolCallAccumulator::default();
        acc.push(&delta(r#"{"index":0,"id":"c","function":{"arguments":"{}"}}"#));
        assert_eq!(acc.take().unwrap_err(), "tool call 0 arrived without a function name");
    }
}
