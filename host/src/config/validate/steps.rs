//! The step graph: ids, the start step, edges, branch handles and per-type parameters.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::config::error::{Problem, key_path};
use crate::config::step::{BURST_ROUNDS, ConversationStep, StepKind, TIMER_SECONDS};

use super::fields::{check_http_url, check_transfer_address};
use crate::config::TransferConfig;

/// `transfer`: the config's transfer section, which transfer steps without an address use.
pub(super) fn check(steps: &[ConversationStep], transfer: Option<&TransferConfig>, out: &mut Vec<Problem>) {
    let index = check_ids(steps, out);
    let start = check_start(steps, out);
    for (i, step) in steps.iter().enumerate() {
        check_edges(i, step, &index, out);
        check_kind(i, step, transfer, out);
    }
    check_evaluation_edges(steps, out);
    if let Some(start) = start {
        check_reachable(steps, start, &index, out);
    }
}

/// Step id → its index (the first, when an id is reused).
fn check_ids<'a>(steps: &'a [ConversationStep], out: &mut Vec<Problem>) -> HashMap<&'a str, usize> {
    let mut index = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        if step.id.trim().is_empty() {
            out.push(Problem::error(format!("steps[{i}].id"), "the step has no id"));
            continue;
        }
        match index.entry(step.id.as_str()) {
            Entry::Occupied(first) => out.push(Problem::error(
                format!("steps[{i}].id"),
                format!("duplicate step id '{}' (first used by steps[{}])", step.id, first.get()),
            )),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    index
}

/// The index of the start step, when there is one.
fn check_start(steps: &[ConversationStep], out: &mut Vec<Problem>) -> Option<usize> {
    let starts: Vec<usize> =
        steps.iter().enumerate().filter(|(_, s)| matches!(s.kind, StepKind::Start { .. })).map(|(i, _)| i).collect();
    let Some(&first) = starts.first() else {
        out.push(Problem::error("steps", "no start step: the conversation needs one step of type 'start'"));
        return None;
    };
    for &extra in &starts[1..] {
        out.push(Problem::error(
            format!("steps[{extra}].type"),
            format!("more than one start step (the first is steps[{first}]); a conversation has one start"),
        ));
    }
    Some(first)
}

fn check_edges(i: usize, step: &ConversationStep, index: &HashMap<&str, usize>, out: &mut Vec<Problem>) {
    let handles = format!("steps[{i}].nextStepIds");
    for (handle, target) in &step.next_step_ids {
        if !index.contains_key(target.as_str()) {
            out.push(Problem::error(key_path(&handles, handle), format!("points to unknown step '{target}'")));
        }
    }
    if step.kind.is_linear() && step.next_step_ids.len() > 1 {
        let names: Vec<&str> = step.next_step_ids.keys().map(String::as_str).collect();
        out.push(Problem::error(
            handles,
            format!(
                "a {} step has one next step, but {} handles are set ({})",
                step.kind.name(),
                names.len(),
                names.join(", ")
            ),
        ));
    }
}

fn check_kind(i: usize, step: &ConversationStep, transfer: Option<&TransferConfig>, out: &mut Vec<Problem>) {
    let path = format!("steps[{i}]");
    let handles = format!("{path}.nextStepIds");
    match &step.kind {
        StepKind::Burst { rounds, .. } if !BURST_ROUNDS.contains(rounds) => out.push(Problem::error(
            format!("{path}.rounds"),
            format!("burst rounds must be {}–{}, got {rounds}", BURST_ROUNDS.start(), BURST_ROUNDS.end()),
        )),
        StepKind::Timer { duration, .. } if !TIMER_SECONDS.contains(duration) => out.push(Problem::error(
            format!("{path}.duration"),
            format!("timer duration must be {}–{} seconds, got {duration}", TIMER_SECONDS.start(), TIMER_SECONDS.end()),
        )),
        StepKind::Ifelse { condition_text } => {
            if condition_text.as_deref().is_none_or(|c| c.trim().is_empty()) {
                out.push(Problem::error(
                    format!("{path}.conditionText"),
                    "an ifelse step needs a condition to evaluate",
                ));
            }
            for handle in ["true", "false"] {
                if !step.next_step_ids.contains_key(handle) {
                    out.push(Problem::error(
                        key_path(&handles, handle),
                        format!("an ifelse step needs a next step for '{handle}'"),
                    ));
                }
            }
            for handle in step.next_step_ids.keys().filter(|h| *h != "true" && *h != "false") {
                out.push(Problem::warning(
                    key_path(&handles, handle),
                    "ignored: an ifelse step only follows 'true' or 'false'",
                ));
            }
        }
        StepKind::Categorize { categories, .. } => check_categories(&path, step, categories, out),
        StepKind::Webhook { webhook_url } => check_http_url(&format!("{path}.webhookUrl"), webhook_url.as_deref(), out),
        StepKind::Transfer { transfer_to, .. } => match (transfer_to, transfer) {
            (Some(to), _) => check_transfer_address(&format!("{path}.transferTo"), to, out),
            (None, Some(_)) => {}
            (None, None) => out.push(Problem::error(
                format!("{path}.transferTo"),
                "a transfer step needs a transferTo (or a transfer section with a 'to')",
            )),
        },
        StepKind::End { .. } if !step.next_step_ids.is_empty() => {
            out.push(Problem::warning(handles, "ignored: an end step ends the conversation"));
        }
        _ => {}
    }
}

fn check_categories(path: &str, step: &ConversationStep, categories: &[String], out: &mut Vec<Problem>) {
    let handles = format!("{path}.nextStepIds");
    if categories.is_empty() {
        out.push(Problem::error(format!("{path}.categories"), "a categorize step needs at least one category"));
    }
    for (k, category) in categories.iter().enumerate() {
        let at = format!("{path}.categories[{k}]");
        if category.trim().is_empty() {
            out.push(Problem::error(at, "empty category"));
        } else if categories[..k].contains(category) {
            out.push(Problem::error(at, format!("duplicate category '{category}'")));
        } else if !step.next_step_ids.contains_key(category) {
            out.push(Problem::error(key_path(&handles, category), format!("no next step for category '{category}'")));
        }
    }
    for handle in step.next_step_ids.keys().filter(|h| !categories.contains(h)) {
        out.push(Problem::warning(
            key_path(&handles, handle),
            format!("ignored: '{handle}' is not one of the categories"),
        ));
    }
}

/// An ifelse or categorize judges the conversation the step before it gathered, so only a
/// conversational step may lead into one; and a branch may not lead back to the start. Each
/// problem is reported on the offending edge.
fn check_evaluation_edges(steps: &[ConversationStep], out: &mut Vec<Problem>) {
    for step in steps.iter().filter(|s| s.kind.is_evaluation() && !s.id.is_empty()) {
        for (j, before) in steps.iter().enumerate().filter(|(_, b)| !b.kind.can_precede_evaluation()) {
            for (handle, _) in before.next_step_ids.iter().filter(|(_, target)| **target == step.id) {
                let kind = step.kind.name();
                out.push(Problem::error(
                    key_path(&format!("steps[{j}].nextStepIds"), handle),
                    format!(
                        "leads to {kind} step '{}', which may only follow a timer, burst or opentalk step, \
                         not the {} step '{}'",
                        step.id,
                        before.kind.name(),
                        before.id
                    ),
                ));
            }
        }
    }
    for (i, branch) in steps.iter().enumerate().filter(|(_, s)| s.kind.is_evaluation()) {
        for (handle, target) in &branch.next_step_ids {
            if steps.iter().any(|s| &s.id == target && matches!(s.kind, StepKind::Start { .. })) {
                out.push(Problem::error(
                    key_path(&format!("steps[{i}].nextStepIds"), handle),
                    format!("a branch may not lead to the start step '{target}'"),
                ));
            }
        }
    }
}

fn check_reachable(steps: &[ConversationStep], start: usize, index: &HashMap<&str, usize>, out: &mut Vec<Problem>) {
    let mut seen = vec![false; steps.len()];
    let mut queue = vec![start];
    seen[start] = true;
    while let Some(i) = queue.pop() {
        for target in steps[i].next_step_ids.values() {
            if let Some(&j) = index.get(target.as_str())
                && !seen[j]
            {
                seen[j] = true;
                queue.push(j);
            }
        }
    }
    for (i, step) in steps.iter().enumerate().filter(|(i, _)| !seen[*i]) {
        // A second start is already an error of its own.
        if !matches!(step.kind, StepKind::Start { .. }) {
            out.push(Problem::warning(
                format!("steps[{i}]"),
                format!("step '{}' cannot be reached from the start step", step.id),
            ));
        }
    }
}
