//! The post-call section: the webhook's URL and the Structured Output fields.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::fields::check_http_url;
use crate::config::error::Problem;
use crate::config::{FieldType, PostCallConfig};

pub(super) fn check(post_call: &PostCallConfig, out: &mut Vec<Problem>) {
    if post_call.webhook_url.is_some() {
        check_http_url("postCall.webhookUrl", post_call.webhook_url.as_deref(), out);
    }
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    for (i, field) in post_call.structured_output.iter().enumerate() {
        let path = format!("postCall.structuredOutput[{i}]");
        let name = field.name.trim();
        if name.is_empty() {
            out.push(Problem::error(format!("{path}.name"), "a field needs a name"));
        } else {
            match first_use.entry(name) {
                Entry::Occupied(first) => out.push(Problem::error(
                    format!("{path}.name"),
                    format!("duplicate field name '{name}' (first used by postCall.structuredOutput[{}])", first.get()),
                )),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
        match field.kind {
            FieldType::Enum if field.options.iter().all(|o| o.trim().is_empty()) => {
                out.push(Problem::error(format!("{path}.options"), "an enum field needs at least one option"))
            }
            FieldType::Enum => {}
            _ if !field.options.is_empty() => {
                out.push(Problem::warning(format!("{path}.options"), "ignored: only an enum field has options"))
            }
            _ => {}
        }
    }
    let has_command = post_call.command.as_deref().is_some_and(|c| !c.trim().is_empty());
    if has_command && post_call.structured_output.is_empty() {
        out.push(Problem::warning("postCall.command", "ignored: there are no structuredOutput fields to extract"));
    }
}
