//! A flow test on a recorded session: the call replayed with today's plugins and host, the
//! test's expectations checked on the replay. Regression tests from real calls, voice included.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::expect;
use super::run::Session;
use super::script::Seen;
use super::spec::TestSpec;
use crate::plugin::PluginRuntime;
use crate::record::Recording;
use crate::record::replay::replay;

/// The failures of `test` on the replay of `recording`, and the replay's virtual length.
pub async fn check(test: &TestSpec, recording: &Path, runtime: &PluginRuntime) -> (Vec<String>, Duration) {
    if !test.llm.is_empty() || !test.turns.is_empty() || !test.tools.is_empty() || !test.webhooks.is_empty() {
        let message = "a test on a recording has no script: `llm`, `turns`, `tools` and `webhooks` come from it";
        return (vec![message.to_string()], Duration::ZERO);
    }
    let recording = match Recording::read(recording) {
        Ok(recording) => recording,
        Err(error) => return (vec![error.to_string()], Duration::ZERO),
    };
    let replayed = match replay(&recording, runtime).await {
        Ok(replayed) => replayed,
        Err(error) => return (vec![format!("replaying {}: {error}", recording_name(&recording))], Duration::ZERO),
    };
    let session = Session {
        events: replayed.replayed.clone(),
        seen: Seen {
            webhooks: replayed
                .requests
                .iter()
                .map(|(url, body)| {
                    let body = serde_json::from_slice(body)
                        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
                    (url.clone(), body)
                })
                .collect(),
            unscripted: replayed.unmatched.iter().map(|r| format!("{r} (not in the recording)")).collect(),
            unused_llm: 0,
        },
        duration: replayed.duration,
    };
    let mut failures = expect::check(&test.expect, &session, &recording.header.config);
    if test.expect.same_events
        && let Some(divergence) = replayed.divergence()
    {
        failures.push(format!("the replay departs from the recording: {divergence}"));
    }
    (failures, replayed.duration)
}

fn recording_name(recording: &Recording) -> String {
    format!("the recording of {}", recording.header.started)
}
