//! The conversation so far: the transcript people see (and webhooks receive) and the
//! messages the LLM sees (which also hold tool calls and results).

use serde::Serialize;

use crate::events::Role;
use crate::plugin::llm;
use crate::providers::llm::message;

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    #[serde(rename = "type")]
    pub role: Role,
    pub text: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    transcript: Vec<Entry>,
    messages: Vec<llm::Message>,
}

impl History {
    pub fn push_user(&mut self, text: &str) {
        self.push(Role::User, text);
    }

    /// What the agent actually said (after an interruption, only what was played).
    pub fn push_assistant(&mut self, text: &str) {
        self.push(Role::Assistant, text);
    }

    fn push(&mut self, role: Role, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let timestamp = humantime::format_rfc3339_millis(crate::clock::wall_now()).to_string();
        self.transcript.push(Entry { role, text: text.to_string(), timestamp });
        let llm_role = match role {
            Role::User => llm::Role::User,
            Role::Assistant => llm::Role::Assistant,
        };
        self.messages.push(message(llm_role, text));
    }

    /// An assistant message that called tools, and the tools' answers.
    pub fn push_tool_exchange(&mut self, messages: Vec<llm::Message>) {
        self.messages.extend(messages);
    }

    pub fn transcript(&self) -> &[Entry] {
        &self.transcript
    }

    pub fn messages(&self) -> &[llm::Message] {
        &self.messages
    }

    /// The transcript as evaluation prompts quote it.
    pub fn transcript_text(&self) -> String {
        self.transcript
            .iter()
            .map(|e| {
                let who = match e.role {
                    Role::User => "User",
                    Role::Assistant => "Agent",
                };
                format!("{who}: {}\n", e.text)
            })
            .collect()
    }

    /// The LLM's messages behind a system prompt.
    pub fn with_system(&self, system: String) -> Vec<llm::Message> {
        let mut messages = Vec::with_capacity(self.messages.len() + 1);
        messages.push(message(llm::Role::System, system));
        messages.extend(self.messages.iter().cloned());
        messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_transcript_and_messages_apart() {
        let mut history = History::default();
        history.push_user(" Hello ");
        history.push_assistant("");
        history.push_tool_exchange(vec![message(llm::Role::Tool, "42")]);
        history.push_assistant("Hi there.");
        assert_eq!(history.transcript_text(), "User: Hello\nAgent: Hi there.\n");
        assert_eq!(history.messages().len(), 3);
        let json = serde_json::to_value(&history.transcript()[0]).unwrap();
        assert_eq!(json["type"], "user");
        assert!(json["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(history.with_system("sys".into())[0].role, llm::Role::System);
    }
}
