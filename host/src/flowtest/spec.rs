//! The flow-test spec: a JSON file (`<agent>.test.json`) with an AgentConfig and tests, each a
//! script of user turns and provider replies and what the session must do.
//!
//! ```json
//! {
//!   "config": "support_triage.json",
//!   "tests": [{
//!     "name": "a billing question reaches billing",
//!     "llm": ["Hi, how can I help?", "Billing", {"say": "Let me look.", "tools": [{"name": "step_complete"}]}],
//!     "turns": [{"user": "My invoice is wrong"}, {"wait": "90s"}],
//!     "expect": {"path": ["start", "triage", "billing"], "toolCalls": ["step_complete"]}
//!   }]
//! }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// A spec file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The AgentConfig every test runs (a test may name its own).
    #[serde(default)]
    pub config: Option<ConfigRef>,
    pub tests: Vec<TestSpec>,
}

/// A config by path (relative to the spec file) or inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ConfigRef {
    Path(String),
    Inline(Value),
}

impl TestSpec {
    /// A voice test: its user speaks WAV files into a voice session.
    pub fn is_voice(&self) -> bool {
        self.turns.iter().any(|turn| turn.audio.is_some())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestSpec {
    pub name: String,
    #[serde(default)]
    pub config: Option<ConfigRef>,
    /// A recorded session (`--record`), relative to the spec: the test replays it with the
    /// plugins and host of today and checks the expectations on the replay (no script, no
    /// config: both come from the recording).
    #[serde(default)]
    pub recording: Option<String>,
    /// The LLM's answers, one per request in the order the session makes them: replies,
    /// branch evaluations (a category's name, `true`/`false`), Structured Output.
    #[serde(default)]
    pub llm: Vec<LlmReply>,
    /// Answers of webhooks by URL (default: 200 with `{}`).
    #[serde(default)]
    pub webhooks: Vec<WebhookReply>,
    /// The config's MCP servers' tools, scripted: each call takes the tool's next result.
    #[serde(default)]
    pub tools: Vec<ToolScript>,
    /// What the user does, in order; each turn waits until the agent is listening.
    #[serde(default)]
    pub turns: Vec<Turn>,
    #[serde(default)]
    pub expect: Expect,
}

/// One LLM answer: text, or text with tool calls, or a provider error.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LlmReply {
    Text(String),
    Full(FullReply),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FullReply {
    #[serde(default)]
    pub say: Option<String>,
    #[serde(default)]
    pub tools: Vec<ToolCallSpec>,
    /// Answer with this HTTP status instead (429, 500, ...).
    #[serde(default)]
    pub error: Option<u16>,
    /// Time to the first token (default 200 ms, on virtual time).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCallSpec {
    pub name: String,
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookReply {
    pub url: String,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default = "empty_object")]
    pub body: Value,
}

fn ok() -> u16 {
    200
}

/// A scripted MCP tool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolScript {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// One per call, in order.
    #[serde(default)]
    pub results: Vec<ToolOutcome>,
}

/// What one tool call answers: its text, or a failure.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ToolOutcome {
    Text(String),
    Error { error: String },
}

/// A user turn: say `user` (after waiting `wait`), or only wait (timers run meanwhile). In a
/// voice test the user speaks `audio` (a WAV file, relative to the spec) and the scripted STT
/// hears `user` once it has been played (nothing, when `user` is absent: a cough, a noise).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub audio: Option<String>,
    #[serde(default, with = "humantime_serde_opt")]
    pub wait: Option<Duration>,
}

/// What the session must have done.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// The steps entered, in order, from the start (`step_change` ids).
    #[serde(default)]
    pub path: Option<Vec<String>>,
    /// Events that must appear in this order (others may come between); each matches an event
    /// holding at least its fields.
    #[serde(default)]
    pub events: Vec<Value>,
    /// The tools the LLM called, in order.
    #[serde(default)]
    pub tool_calls: Option<Vec<String>>,
    /// Webhook requests in order: `url` and a `body` the request's JSON must contain.
    #[serde(default)]
    pub webhooks: Vec<WebhookExpect>,
    /// How many times the agent spoke (`metrics` events).
    #[serde(default)]
    pub agent_turns: Option<u32>,
    /// The session's length on virtual time must stay within this.
    #[serde(default, with = "humantime_serde_opt")]
    pub max_duration: Option<Duration>,
    /// `error` events are failures unless this is set (or they are among `events`).
    #[serde(default)]
    pub allow_errors: bool,
    /// With a recording: the replay must publish the recorded events (timings aside).
    #[serde(default)]
    pub same_events: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookExpect {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub body: Option<Value>,
}

/// `"90s"`, `"2m 30s"`, `"1500ms"`.
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl SpecFile {
    pub fn read(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read { path: path.into(), source })?;
        let deserializer = &mut serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(deserializer).map_err(|error| SpecError::Invalid {
            path: path.into(),
            message: format!("at {}: {}", error.path(), error.inner()),
        })
    }

    /// The recording a test replays, if it names one (relative to `spec`).
    pub fn recording_for(test: &TestSpec, spec: &Path) -> Option<PathBuf> {
        test.recording.as_ref().map(|relative| spec.parent().unwrap_or(Path::new(".")).join(relative))
    }

    /// The config JSON a test runs: its own, else the file's; paths are relative to `spec`.
    pub fn config_for(&self, test: &TestSpec, spec: &Path) -> Result<String, SpecError> {
        let invalid = |message: String| SpecError::Invalid { path: spec.into(), message };
        match test.config.as_ref().or(self.config.as_ref()) {
            None => Err(invalid(format!("test `{}` has no config (set `config` on the file or the test)", test.name))),
            Some(ConfigRef::Inline(value)) => Ok(value.to_string()),
            Some(ConfigRef::Path(relative)) => {
                let path = spec.parent().unwrap_or(Path::new(".")).join(relative);
                std::fs::read_to_string(&path).map_err(|source| SpecError::Read { path, source })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_read_with_durations_and_reply_shapes_and_refuse_unknown_fields_with_their_path() {
        let spec: SpecFile = serde_json::from_str(
            r#"{"config": "a.json", "tests": [{"name": "t", "llm": ["Hi", {"say": "Ok", "tools": [{"name": "step_complete"}]}, {"error": 503}],
                "turns": [{"user": "hello"}, {"wait": "2m 30s"}], "expect": {"path": ["s"], "maxDuration": "10m"}}]}"#,
        )
        .unwrap();
        let test = &spec.tests[0];
        assert!(matches!(&test.llm[0], LlmReply::Text(t) if t == "Hi"));
        assert!(matches!(&test.llm[1], LlmReply::Full(FullReply { tools, .. }) if tools[0].name == "step_complete"));
        assert!(matches!(&test.llm[2], LlmReply::Full(FullReply { error: Some(503), .. })));
        assert_eq!(test.turns[1].wait, Some(Duration::from_secs(150)));
        assert_eq!(test.expect.max_duration, Some(Duration::from_secs(600)));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.test.json");
        std::fs::write(&path, r#"{"tests": [{"name": "t", "expect": {"pathh": []}}]}"#).unwrap();
        let error = SpecFile::read(&path).unwrap_err().to_string();
        assert!(error.contains("tests[0].expect") && error.contains("pathh"), "{error}");
    }
}
