//! What the LLMs are told: the agent's system prompt for the current step, and the
//! evaluation prompts of ifelse/categorize with the parsing of their answers.

use crate::config::{AgentConfig, ConversationStep, StepKind};

/// How the agent's next utterance is framed besides the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment<'a> {
    /// Answering the user.
    Reply,
    /// The agent speaks first: the start step's instruction.
    Opening(&'a str),
    /// The agent moves on by itself (a timer ran out): introduce the new step.
    Transition,
    /// The last words: the end step's instruction, or a plain goodbye.
    Closing(Option<&'a str>),
}

/// The agent's system prompt: persona, the voice rules, and the current step.
pub fn system_prompt(config: &AgentConfig, step: Option<&ConversationStep>, moment: Moment<'_>) -> String {
    let mut prompt = String::new();
    if !config.instructions.trim().is_empty() {
        prompt.push_str(config.instructions.trim());
        prompt.push_str("\n\n");
    }
    prompt.push_str(&format!(
        "Speak in the language with BCP-47 tag {}. Your words are spoken aloud by a voice: answer in short, \
         plain spoken sentences without markdown, lists, emoji or special characters.",
        config.language
    ));
    if let Some(step) = step
        && let Some(command) = step.kind.command().filter(|c| !c.trim().is_empty())
        && matches!(step.kind, StepKind::Burst { .. } | StepKind::Timer { .. } | StepKind::Opentalk { .. })
    {
        prompt.push_str("\n\nCurrent part of the conversation: ");
        prompt.push_str(command.trim());
        if matches!(step.kind, StepKind::Opentalk { .. }) {
            prompt.push_str(&format!(
                "\nWhen the user has nothing more to say on this, call the `{}` tool instead of answering.",
                super::toolbox::STEP_COMPLETE
            ));
        }
    }
    match moment {
        Moment::Reply => {}
        Moment::Opening(instruction) => {
            prompt.push_str("\n\nYou speak first. Open the conversation: ");
            prompt.push_str(instruction.trim());
        }
        Moment::Transition => {
            prompt.push_str("\n\nMove the conversation on to the current part now, in one or two sentences.")
        }
        Moment::Closing(instruction) => {
            prompt.push_str("\n\nThe conversation is ending. ");
            prompt.push_str(instruction.map_or("Say a brief, friendly goodbye.", str::trim));
        }
    }
    prompt
}

/// The ifelse question.
pub fn condition_prompt(condition: &str, transcript: &str) -> (String, String) {
    (
        "You judge a conversation between a user and an agent. Answer with exactly one word: true or false.".into(),
        format!("Condition: {}\n\nConversation:\n{transcript}\n\nIs the condition true?", condition.trim()),
    )
}

/// The categorize question.
pub fn category_prompt(instruction: Option<&str>, categories: &[String], transcript: &str) -> (String, String) {
    let list: String = categories.iter().map(|c| format!("- {c}\n")).collect();
    let task = instruction.filter(|i| !i.trim().is_empty()).unwrap_or("Classify the conversation.");
    (
        "You classify a conversation between a user and an agent. Answer with the name of exactly one category, \
         copied exactly, and nothing else."
            .into(),
        format!("{}\n\nCategories:\n{list}\nConversation:\n{transcript}\n\nCategory:", task.trim()),
    )
}

/// Reads a true/false verdict; `None` when the answer is neither.
pub fn parse_condition(answer: &str) -> Option<bool> {
    let word: String =
        answer.trim().chars().take_while(|c| c.is_alphanumeric()).collect::<String>().to_ascii_lowercase();
    match word.as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// Finds the category an answer names: exact (ignoring case, quotes and a final period), else
/// the only category the answer contains, else a 1-based number.
pub fn parse_category<'a>(answer: &str, categories: &'a [String]) -> Option<&'a String> {
    let clean = answer.trim().trim_matches(|c: char| c == '"' || c == '\'' || c == '.' || c == '`').trim();
    let lower = clean.to_lowercase();
    if let Some(exact) = categories.iter().find(|c| c.trim().to_lowercase() == lower) {
        return Some(exact);
    }
    let mut contained = categories.iter().filter(|c| !c.trim().is_empty() && lower.contains(&c.trim().to_lowercase()));
    if let (Some(only), None) = (contained.next(), contained.next()) {
        return Some(only);
    }
    clean.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| categories.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_leniently() {
        assert_eq!(parse_condition("true"), Some(true));
        assert_eq!(parse_condition(" False."), Some(false));
        assert_eq!(parse_condition("Yes, they do"), Some(true));
        assert_eq!(parse_condition("maybe"), None);
        assert_eq!(parse_condition(""), None);
    }

    #[test]
    fn categories_parse_exact_contained_or_numbered() {
        let cats: Vec<String> = ["Billing question", "Technical problem", "Cancel service"].map(String::from).into();
        assert_eq!(parse_category("technical problem.", &cats), Some(&cats[1]));
        assert_eq!(parse_category("\"Cancel service\"", &cats), Some(&cats[2]));
        assert_eq!(parse_category("The category is Billing question", &cats), Some(&cats[0]));
        assert_eq!(parse_category("2", &cats), Some(&cats[1]));
        assert_eq!(parse_category("weather", &cats), None);
        assert_eq!(parse_category("0", &cats), None);
    }

    #[test]
    fn system_prompt_carries_persona_step_and_moment() {
        let config = AgentConfig::from_json(
            r#"{"instructions": "You are Ava.", "language": "fr-FR",
                "steps": [{"id": "o", "type": "opentalk", "command": "Talk about plans."}]}"#,
        )
        .unwrap();
        let prompt = system_prompt(&config, config.step("o"), Moment::Opening("Greet the user."));
        assert!(prompt.starts_with("You are Ava."));
        assert!(prompt.contains("fr-FR"));
        assert!(prompt.contains("Talk about plans."));
        assert!(prompt.contains("step_complete"));
        assert!(prompt.ends_with("Greet the user."));
        assert!(system_prompt(&config, None, Moment::Closing(None)).ends_with("goodbye."));
    }
}
