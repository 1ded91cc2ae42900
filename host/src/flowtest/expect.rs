//! Checking a test's session against its expectations: every failure in words that say what
//! was expected, what happened, and where they part.

use serde_json::Value;

use super::run::Session;
use super::spec::Expect;

/// Whether `actual` holds everything in `expected` (objects: at least its fields, recursively;
/// arrays and scalars: equal element by element).
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            expected.iter().all(|(key, value)| actual.get(key).is_some_and(|a| contains(a, value)))
        }
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len() && actual.iter().zip(expected).all(|(a, e)| contains(a, e))
        }
        _ => actual == expected,
    }
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> impl Iterator<Item = &'a Value> {
    events.iter().filter(move |e| e["type"] == kind)
}

/// Every way `session` falls short of `expect`; `config` is the AgentConfig JSON (for paths
/// the config cannot take).
pub fn check(expect: &Expect, session: &Session, config: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    for unscripted in &session.seen.unscripted {
        failures.push(format!("unscripted: {unscripted}"));
    }
    if session.seen.unused_llm > 0 {
        failures.push(format!(
            "{} scripted LLM repl{} never asked for (the conversation took fewer LLM calls than scripted)",
            session.seen.unused_llm,
            if session.seen.unused_llm == 1 { "y was" } else { "ies were" }
        ));
    }
    if let Some(path) = &expect.path {
        failures.extend(check_path(path, session, config));
    }
    let mut cursor = 0;
    for expected in &expect.events {
        match session.events[cursor..].iter().position(|e| contains(e, expected)) {
            Some(found) => cursor += found + 1,
            None => failures.push(format!("expected event not seen (after event #{cursor}): {expected}")),
        }
    }
    if let Some(tools) = &expect.tool_calls {
        let called: Vec<&str> = of_type(&session.events, "tool_call").filter_map(|e| e["toolName"].as_str()).collect();
        if called != tools.iter().map(String::as_str).collect::<Vec<_>>() {
            failures.push(format!("tool calls: expected {tools:?}, the LLM called {called:?}"));
        }
    }
    let mut cursor = 0;
    for (index, expected) in expect.webhooks.iter().enumerate() {
        let matches = |(url, body): &(String, Value)| {
            expected.url.as_ref().is_none_or(|u| u == url) && expected.body.as_ref().is_none_or(|b| contains(body, b))
        };
        match session.seen.webhooks[cursor..].iter().position(matches) {
            Some(found) => cursor += found + 1,
            None => {
                let sent: Vec<String> =
                    session.seen.webhooks.iter().map(|(url, body)| format!("{url} {body}")).collect();
                failures.push(format!(
                    "webhook #{} not sent: expected {} {}; sent: {}",
                    index + 1,
                    expected.url.as_deref().unwrap_or("(any URL)"),
                    expected.body.as_ref().map_or("(any body)".to_string(), Value::to_string),
                    if sent.is_empty() { "none".to_string() } else { sent.join("; ") }
                ));
            }
        }
    }
    if let Some(turns) = expect.agent_turns {
        let spoke = of_type(&session.events, "metrics").count();
        if spoke != turns as usize {
            failures.push(format!("agent turns: expected {turns}, the agent spoke {spoke} times"));
        }
    }
    if let Some(longest) = expect.max_duration
        && session.duration > longest
    {
        failures.push(format!(
            "took {} of virtual time, more than maxDuration {}",
            humantime::format_duration(trim(session.duration)),
            humantime::format_duration(longest)
        ));
    }
    if !expect.allow_errors {
        let expected_errors: Vec<&Value> = expect.events.iter().filter(|e| e["type"] == "error").collect();
        for error in of_type(&session.events, "error") {
            if !expected_errors.iter().any(|e| contains(error, e)) {
                failures.push(format!("error event: {error} (set `allowErrors` or expect it among `events`)"));
            }
        }
    }
    failures
}

/// Milliseconds are enough in messages.
pub fn trim(duration: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_millis(duration.as_millis() as u64)
}

fn check_path(expected: &[String], session: &Session, config: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    // A path the config cannot take is a mistake in the test, said as such.
    for pair in expected.windows(2) {
        let next = next_steps(config, &pair[0]);
        if !next.contains(&pair[1].as_str()) {
            failures.push(format!(
                "the expected path cannot happen: the config has no way from `{}` to `{}` ({})",
                pair[0],
                pair[1],
                if next.is_empty() {
                    format!("`{}` leads nowhere or is not a step", pair[0])
                } else {
                    format!(
                        "from `{}` it goes to {}",
                        pair[0],
                        next.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    )
                }
            ));
        }
    }
    let took: Vec<&str> = of_type(&session.events, "step_change").filter_map(|e| e["stepId"].as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(String::as_str).collect();
    if took != wanted {
        let index = took.iter().zip(&wanted).take_while(|(a, b)| a == b).count();
        let part = match (wanted.get(index), took.get(index)) {
            (Some(w), Some(t)) => format!("at step #{}: expected `{w}`, the session went to `{t}`", index + 1),
            (Some(w), None) => format!("at step #{}: expected `{w}`, the session entered no more steps", index + 1),
            (None, Some(t)) => format!("after step #{index}: the expected path ends, the session went on to `{t}`"),
            (None, None) => String::new(),
        };
        failures.push(format!(
            "the path parts {part}\n      expected: {}\n      took:     {}",
            wanted.join(" → "),
            took.join(" → ")
        ));
    }
    failures
}

/// The steps `id` can lead to (its `nextStepIds`).
fn next_steps<'a>(config: &'a Value, id: &str) -> Vec<&'a str> {
    config["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|step| step["id"] == id)
        .and_then(|step| step["nextStepIds"].as_object())
        .map(|next| next.values().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn containment_is_a_recursive_subset() {
        let event = json!({"type": "tool_call", "toolName": "x", "arguments": {"a": 1, "b": [1, 2]}});
        assert!(contains(&event, &json!({"type": "tool_call"})));
        assert!(contains(&event, &json!({"arguments": {"b": [1, 2]}})));
        assert!(!contains(&event, &json!({"arguments": {"b": [1]}})));
        assert!(!contains(&event, &json!({"toolName": "y"})));
    }

    fn session(steps: &[&str]) -> Session {
        Session {
            events: steps.iter().map(|s| json!({"type": "step_change", "stepId": s})).collect(),
            seen: Default::default(),
            duration: std::time::Duration::from_secs(90),
        }
    }

    #[test]
    fn a_path_the_config_cannot_take_says_where_and_why() {
        let config = json!({"steps": [
            {"id": "s", "nextStepIds": {"next": "c"}},
            {"id": "c", "nextStepIds": {"A": "a", "B": "b"}},
            {"id": "a"}, {"id": "b"}]});
        let expect = Expect { path: Some(vec!["s".into(), "c".into(), "z".into()]), ..Default::default() };
        let failures = check(&expect, &session(&["s", "c", "a"]), &config);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("no way from `c` to `z`") && failures[0].contains("`a`, `b`"), "{}", failures[0]);
        assert!(failures[1].contains("at step #3: expected `z`, the session went to `a`"), "{}", failures[1]);
        assert!(failures[1].contains("s → c → a"), "{}", failures[1]);
        let expect = Expect { path: Some(vec!["s".into(), "c".into(), "a".into()]), ..Default::default() };
        assert!(check(&expect, &session(&["s", "c", "a"]), &config).is_empty());
        let expect = Expect { max_duration: Some(std::time::Duration::from_secs(60)), ..Default::default() };
        assert!(check(&expect, &session(&[]), &config)[0].contains("1m 30s of virtual time"));
    }
}
