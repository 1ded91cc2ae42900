//! Building the LLM interface's requests in an adapter's unit tests (with the `test-support`
//! feature; the contract's and kit's helpers replay the traffic).

use crate::llm::{Message, Request, Role};

/// A message with only a role and content.
pub fn llm_message(role: Role, content: &str) -> Message {
    Message { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
}

/// The result of the tool call `id`.
pub fn tool_result(id: &str, content: &str) -> Message {
    Message { tool_call_id: Some(id.into()), ..llm_message(Role::Tool, content) }
}

/// A request for `messages` with no tools and every setting left to the provider.
pub fn llm_request(messages: Vec<Message>) -> Request {
    Request { messages, tools: Vec::new(), temperature: None, max_tokens: None, extras: String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_name_their_call() {
        let request = llm_request(vec![llm_message(Role::User, "hi"), tool_result("call_1", "42")]);
        assert_eq!(request.messages[0].tool_call_id, None);
        assert_eq!(
            (
                request.messages[1].role,
                request.messages[1].tool_call_id.as_deref(),
                request.messages[1].content.as_str()
            ),
            (Role::Tool, Some("call_1"), "42")
        );
    }
}
