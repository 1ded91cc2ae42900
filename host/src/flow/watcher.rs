//! The StepWatcher: where the conversation is in the step graph, and what a user turn or the
//! clock means for it. Pure state, time passed in, so every decision is unit-tested.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{AgentConfig, ConversationStep, StepKind};

/// What a user turn does to the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Stay: the LLM replies under the current step.
    Continue,
    /// The step is done: follow its successor before replying.
    Advance,
}

#[derive(Debug, Clone)]
pub struct StepWatcher {
    config: Arc<AgentConfig>,
    current: Option<usize>,
    /// User turns taken in the current step.
    rounds: u32,
    timer_deadline: Option<Instant>,
    ended: bool,
}

impl StepWatcher {
    pub fn new(config: Arc<AgentConfig>) -> Self {
        Self { config, current: None, rounds: 0, timer_deadline: None, ended: false }
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    pub fn current(&self) -> Option<&ConversationStep> {
        self.current.map(|i| &self.config.steps[i])
    }

    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    pub fn has_ended(&self) -> bool {
        self.ended
    }

    pub fn end(&mut self) {
        self.ended = true;
        self.timer_deadline = None;
    }

    /// When the current timer step runs out, if it is one.
    pub fn timer_deadline(&self) -> Option<Instant> {
        self.timer_deadline
    }

    /// Makes `id` the current step; `None` if no step has that id.
    pub fn enter(&mut self, id: &str, now: Instant) -> Option<&ConversationStep> {
        let index = self.config.steps.iter().position(|s| s.id == id)?;
        self.current = Some(index);
        self.rounds = 0;
        let step = &self.config.steps[index];
        self.timer_deadline = match step.kind {
            StepKind::Timer { duration, .. } => Some(now + Duration::from_secs(u64::from(duration))),
            _ => None,
        };
        Some(step)
    }

    /// Enters the `start` step.
    pub fn enter_start(&mut self, now: Instant) -> Option<&ConversationStep> {
        let id = self.config.start_step()?.id.clone();
        self.enter(&id, now)
    }

    /// A user turn ended: count it and say whether the current step is complete.
    pub fn on_user_turn(&mut self, now: Instant) -> Decision {
        let Some(step) = self.current() else { return Decision::Continue };
        match step.kind {
            StepKind::Burst { rounds, .. } => {
                self.rounds += 1;
                if self.rounds >= rounds.max(1) { Decision::Advance } else { Decision::Continue }
            }
            StepKind::Timer { .. } => {
                self.rounds += 1;
                if self.timer_expired(now) { Decision::Advance } else { Decision::Continue }
            }
            // Opentalk ends through the LLM's `step_complete`; automatic steps never wait for
            // a turn, but if one is current (a flow left it there) moving on is the safe choice.
            StepKind::Opentalk { .. } => {
                self.rounds += 1;
                Decision::Continue
            }
            StepKind::Start { .. }
            | StepKind::Ifelse { .. }
            | StepKind::Categorize { .. }
            | StepKind::Webhook { .. }
            | StepKind::Transfer { .. } => Decision::Advance,
            StepKind::End { .. } => Decision::Continue,
        }
    }

    pub fn timer_expired(&self, now: Instant) -> bool {
        self.timer_deadline.is_some_and(|deadline| now >= deadline)
    }

    /// The step a handle of the current step leads to; `None` handle means the linear one.
    pub fn successor(&self, handle: Option<&str>) -> Option<&ConversationStep> {
        let step = self.current()?;
        let id = match handle {
            Some(handle) => step.branch(handle)?,
            None => step.next()?,
        };
        self.config.step(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watcher(steps: &str) -> StepWatcher {
        let config = AgentConfig::from_json(&format!(r#"{{"steps": {steps}}}"#)).unwrap();
        StepWatcher::new(Arc::new(config))
    }

    #[test]
    fn burst_advances_after_its_rounds() {
        let mut w = watcher(
            r#"[{"id": "s", "type": "start", "nextStepIds": {"next": "b"}},
                {"id": "b", "type": "burst", "rounds": 2, "nextStepIds": {"next": "e"}},
                {"id": "e", "type": "end"}]"#,
        );
        let now = Instant::now();
        assert_eq!(w.enter_start(now).unwrap().id, "s");
        assert_eq!(w.successor(None).unwrap().id, "b");
        w.enter("b", now);
        assert_eq!(w.on_user_turn(now), Decision::Continue);
        assert_eq!(w.on_user_turn(now), Decision::Advance);
        assert_eq!(w.successor(None).unwrap().id, "e");
        w.enter("e", now);
        assert_eq!(w.successor(None), None);
    }

    #[test]
    fn timer_advances_only_once_expired() {
        let mut w = watcher(r#"[{"id": "t", "type": "timer", "duration": 60, "nextStepIds": {"next": "x"}}]"#);
        let now = Instant::now();
        w.enter("t", now);
        assert_eq!(w.timer_deadline(), Some(now + Duration::from_secs(60)));
        assert_eq!(w.on_user_turn(now + Duration::from_secs(59)), Decision::Continue);
        assert!(w.timer_expired(now + Duration::from_secs(60)));
        assert_eq!(w.on_user_turn(now + Duration::from_secs(61)), Decision::Advance);
        assert_eq!(w.rounds(), 2);
    }

    #[test]
    fn opentalk_waits_for_the_llm_and_branches_follow_handles() {
        let mut w = watcher(
            r#"[{"id": "o", "type": "opentalk", "nextStepIds": {"next": "c"}},
                {"id": "c", "type": "categorize", "categories": ["A", "B"], "nextStepIds": {"A": "o", "B": "e"}},
                {"id": "e", "type": "end"}]"#,
        );
        let now = Instant::now();
        w.enter("o", now);
        assert_eq!(w.on_user_turn(now), Decision::Continue);
        assert_eq!(w.on_user_turn(now), Decision::Continue);
        w.enter("c", now);
        assert_eq!(w.successor(Some("B")).unwrap().id, "e");
        assert_eq!(w.successor(Some("C")), None);
        assert!(w.enter("nowhere", now).is_none());
        assert_eq!(w.current().unwrap().id, "c");
    }
}
