//! Comparing a replay's events with the recording's: the first place they part, shown with
//! the events that led there.

use std::fmt;

use serde_json::Value;

/// How many identical events before the divergence are shown.
const CONTEXT: usize = 3;

/// Drops what a live session measured on the wall clock (the `...Ms` figures of `metrics`
/// events): a replay on virtual time cannot reproduce a live network's jitter, only its
/// order and content.
pub fn without_timings(event: &Value) -> Value {
    let mut event = event.clone();
    if event.get("type").and_then(Value::as_str) == Some("metrics")
        && let Some(fields) = event.as_object_mut()
    {
        fields.retain(|name, _| !name.ends_with("Ms"));
    }
    event
}

/// Where two event sequences first differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Index of the first differing event.
    pub index: usize,
    /// The identical events just before it.
    pub before: Vec<Value>,
    pub expected: Option<Value>,
    pub actual: Option<Value>,
}

/// The first divergence between `expected` and `actual`, each event seen through `view`.
pub fn first_divergence(expected: &[Value], actual: &[Value], view: impl Fn(&Value) -> Value) -> Option<Divergence> {
    let len = expected.len().max(actual.len());
    let index = (0..len).find(|&i| expected.get(i).map(&view) != actual.get(i).map(&view))?;
    Some(Divergence {
        index,
        before: expected[index.saturating_sub(CONTEXT)..index].to_vec(),
        expected: expected.get(index).cloned(),
        actual: actual.get(index).cloned(),
    })
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "events diverge at #{} (the {} before it are identical):", self.index + 1, self.index)?;
        let first = self.index - self.before.len();
        for (offset, event) in self.before.iter().enumerate() {
            writeln!(f, "    #{} {event}", first + offset + 1)?;
        }
        match &self.expected {
            Some(event) => writeln!(f, "  - recorded: {event}")?,
            None => writeln!(f, "  - recorded: (no more events)")?,
        }
        match &self.actual {
            Some(event) => write!(f, "  + replayed: {event}"),
            None => write!(f, "  + replayed: (no more events)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_difference_is_shown_with_what_led_there() {
        let a = [json!({"type": "a"}), json!({"type": "b"}), json!({"type": "c", "x": 1})];
        let b = [json!({"type": "a"}), json!({"type": "b"}), json!({"type": "c", "x": 2}), json!({"type": "d"})];
        let divergence = first_divergence(&a, &b, Value::clone).unwrap();
        assert_eq!(divergence.index, 2);
        let text = divergence.to_string();
        assert!(text.contains("#3 (the 2 before it are identical)"), "{text}");
        assert!(text.contains(r#"- recorded: {"type":"c","x":1}"#), "{text}");
        assert!(text.contains(r#"+ replayed: {"type":"c","x":2}"#), "{text}");
        assert_eq!(first_divergence(&a, &a, Value::clone), None);
        let shorter = first_divergence(&a, &a[..2], Value::clone).unwrap();
        assert!(shorter.to_string().contains("+ replayed: (no more events)"));
    }

    #[test]
    fn measured_timings_are_not_compared_but_everything_else_is() {
        let live = json!({"type": "metrics", "turn": 1, "llmTtftMs": 412.3, "promptTokens": 20});
        let replay = json!({"type": "metrics", "turn": 1, "llmTtftMs": 400.0, "promptTokens": 20});
        assert_eq!(without_timings(&live), without_timings(&replay));
        let other = json!({"type": "metrics", "turn": 1, "llmTtftMs": 400.0, "promptTokens": 21});
        assert_ne!(without_timings(&live), without_timings(&other));
        let error = json!({"type": "error", "code": "llm_failed", "messageMs": 1});
        assert_eq!(without_timings(&error), error);
    }
}
