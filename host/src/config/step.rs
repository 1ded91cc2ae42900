//! Conversation steps: the graph the step engine walks, from `start` along `nextStepIds`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::provider::LLMConfig;

pub const DEFAULT_BURST_ROUNDS: u32 = 1;
pub const BURST_ROUNDS: std::ops::RangeInclusive<u32> = 1..=10;
pub const DEFAULT_TIMER_SECONDS: u32 = 30;
pub const TIMER_SECONDS: std::ops::RangeInclusive<u32> = 30..=1800;

/// The handle a linear step's successor is stored under ([ours]; any single key is accepted).
pub const NEXT_HANDLE: &str = "next";

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationStep {
    #[serde(default)]
    pub id: String,
    #[serde(flatten)]
    pub kind: StepKind,
    /// Handle → step id: `true`/`false` for ifelse, the category text for categorize, one
    /// key (usually `next`) for the rest. No entry: the conversation ends after this step.
    #[serde(default, deserialize_with = "next_step_ids", skip_serializing_if = "BTreeMap::is_empty")]
    pub next_step_ids: BTreeMap<String, String>,
    /// Absent: the main LLM evaluates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_llm: Option<LLMConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase", rename_all_fields = "camelCase")]
pub enum StepKind {
    /// The opening line: verbatim when `is_literal`, else an instruction for the first reply.
    Start {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(default)]
        is_literal: bool,
    },
    /// `rounds` user turns on the topic, then advance.
    Burst {
        #[serde(default = "default_rounds", deserialize_with = "whole_number")]
        rounds: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
    },
    /// Free conversation until the user is done.
    #[serde(alias = "openTalk", alias = "open_talk")]
    Opentalk {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
    },
    /// Converse on the topic for `duration` seconds, then advance.
    Timer {
        #[serde(default = "default_duration", deserialize_with = "whole_number")]
        duration: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
    },
    /// Branch on a condition evaluated over the transcript.
    #[serde(alias = "ifElse", alias = "if_else")]
    Ifelse {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        condition_text: Option<String>,
    },
    /// Branch on the category the transcript falls into.
    Categorize {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(default)]
        categories: Vec<String>,
    },
    /// POST the conversation so far.
    Webhook {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        webhook_url: Option<String>,
    },
    /// [ours] Say the line (if any), then hand a phone caller to a person at `transferTo` (or
    /// the config's `transfer.to`); if the transfer fails, go on to the next step, or end.
    Transfer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(default)]
        is_literal: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer_to: Option<String>,
    },
    /// Say the closing line (if any), then end the session.
    End {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(default)]
        is_literal: bool,
    },
}

fn default_rounds() -> u32 {
    DEFAULT_BURST_ROUNDS
}

fn default_duration() -> u32 {
    DEFAULT_TIMER_SECONDS
}

impl StepKind {
    /// The `type` string, as events (`step_change.stepType`) report it.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Start { .. } => "start",
            StepKind::Burst { .. } => "burst",
            StepKind::Opentalk { .. } => "opentalk",
            StepKind::Timer { .. } => "timer",
            StepKind::Ifelse { .. } => "ifelse",
            StepKind::Categorize { .. } => "categorize",
            StepKind::Webhook { .. } => "webhook",
            StepKind::Transfer { .. } => "transfer",
            StepKind::End { .. } => "end",
        }
    }

    pub fn command(&self) -> Option<&str> {
        match self {
            StepKind::Start { command, .. }
            | StepKind::Burst { command, .. }
            | StepKind::Opentalk { command }
            | StepKind::Timer { command, .. }
            | StepKind::Categorize { command, .. }
            | StepKind::Transfer { command, .. }
            | StepKind::End { command, .. } => command.as_deref(),
            StepKind::Ifelse { .. } | StepKind::Webhook { .. } => None,
        }
    }

    /// Whether the step has a single successor rather than branches.
    pub fn is_linear(&self) -> bool {
        !matches!(self, StepKind::Ifelse { .. } | StepKind::Categorize { .. } | StepKind::End { .. })
    }

    /// A step that judges the conversation and branches on the verdict.
    pub fn is_evaluation(&self) -> bool {
        matches!(self, StepKind::Ifelse { .. } | StepKind::Categorize { .. })
    }

    /// The steps an ifelse or categorize may follow: those that gather conversation to evaluate.
    pub fn can_precede_evaluation(&self) -> bool {
        matches!(self, StepKind::Timer { .. } | StepKind::Burst { .. } | StepKind::Opentalk { .. })
    }
}

impl ConversationStep {
    /// The successor of a linear step, whatever its single handle is called.
    pub fn next(&self) -> Option<&str> {
        self.next_step_ids.get(NEXT_HANDLE).or_else(|| self.next_step_ids.values().next()).map(String::as_str)
    }

    pub fn branch(&self, handle: &str) -> Option<&str> {
        self.next_step_ids.get(handle).map(String::as_str)
    }
}

/// Form-built configs may carry numbers as `"3"` or `3.0`; anything that is a whole number
/// counts, so the range check (not the parser) reports bad values.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Float(f64),
        Text(String),
    }
    let number = match Raw::deserialize(deserializer)? {
        Raw::Int(n) => Some(n),
        Raw::Float(f) if f.fract() == 0.0 && f >= 0.0 => Some(f as u64),
        Raw::Float(_) => None,
        Raw::Text(text) => text.trim().parse().ok(),
    };
    number
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .ok_or_else(|| serde::de::Error::custom("expected a whole number of at least 0"))
}

/// Builders leave unconnected handles as `null` or `""`; both mean "no edge".
fn next_step_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = Option::<BTreeMap<String, Option<String>>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(raw.into_iter().filter_map(|(handle, id)| Some((handle, id.filter(|id| !id.is_empty())?))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(json: &str) -> ConversationStep {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_rounds_and_duration() {
        assert_eq!(step(r#"{"id": "b", "type": "burst"}"#).kind, StepKind::Burst { rounds: 1, command: None });
        assert_eq!(step(r#"{"id": "t", "type": "timer"}"#).kind, StepKind::Timer { duration: 30, command: None });
    }

    #[test]
    fn numbers_may_arrive_as_text_or_floats() {
        assert_eq!(
            step(r#"{"id": "b", "type": "burst", "rounds": "3"}"#).kind,
            StepKind::Burst { rounds: 3, command: None }
        );
        assert_eq!(
            step(r#"{"id": "t", "type": "timer", "duration": 60.0}"#).kind,
            StepKind::Timer { duration: 60, command: None }
        );
        assert!(serde_json::from_str::<ConversationStep>(r#"{"id": "b", "type": "burst", "rounds": 1.5}"#).is_err());
        assert!(serde_json::from_str::<ConversationStep>(r#"{"id": "b", "type": "burst", "rounds": -1}"#).is_err());
    }

    #[test]
    fn reads_type_specific_fields_and_ignores_others() {
        let s = step(
            r#"{"id": "c", "type": "categorize", "categories": ["a", "b"], "position": {"x": 1},
                "nextStepIds": {"a": "x", "b": null, "c": ""}, "evaluationLlm": {"model": "gpt-4.1-nano", "provider": "openai"}}"#,
        );
        assert_eq!(s.kind, StepKind::Categorize { command: None, categories: vec!["a".into(), "b".into()] });
        assert_eq!(s.next_step_ids.len(), 1);
        assert_eq!(s.evaluation_llm.unwrap().model, "gpt-4.1-nano");
    }

    #[test]
    fn linear_successor_accepts_any_single_handle() {
        assert_eq!(step(r#"{"id": "s", "type": "start", "nextStepIds": {"out": "b"}}"#).next(), Some("b"));
        assert_eq!(step(r#"{"id": "e", "type": "end"}"#).next(), None);
    }

    #[test]
    fn round_trips_camel_case() {
        let s = step(r#"{"id": "i", "type": "ifElse", "conditionText": "wants a demo", "nextStepIds": {"true": "a"}}"#);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["type"], "ifelse");
        assert_eq!(json["conditionText"], "wants a demo");
        assert_eq!(json["nextStepIds"]["true"], "a");
    }
}
