//! A conversation: the step engine's state, the history, and the turn in progress. The voice
//! loop and the text console drive it the same way: `start`, `user_turn`, `timer_expired`,
//! then `next` for the words to say, `commit_spoken` with what was actually said.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::context::FlowContext;
use super::history::History;
use super::postcall::{self, PostCallPayload};
use super::turn::{self, Trigger, TurnEvent};
use super::watcher::StepWatcher;
use super::webhook;
use crate::events::{AgentEvent, AgentState, ErrorCode, Role};
use crate::plugin::llm;
use crate::providers::llm::message;

/// What a conversation asks its driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Words to say (a streamed piece).
    Text(String),
    /// The turn has produced all its words; `ended`: the conversation is over after them.
    Done { ended: bool },
}

/// LLM figures of the current turn, for its metrics event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmFigures {
    /// First request's time to first token.
    pub ttft: Option<Duration>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cached_prompt_tokens: u32,
}

struct Running {
    events: mpsc::Receiver<TurnEvent>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A reply started before the user's turn was confirmed (preemptive generation).
struct Speculation {
    /// The words it answers: only a turn with exactly these takes it.
    text: String,
    running: Running,
    confirm: oneshot::Sender<()>,
}

/// How preemptive generation fared, for metrics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeculationStats {
    /// Replies started ahead of a turn.
    pub started: u32,
    /// Of those, the ones the turn confirmed (the rest were wasted requests).
    pub used: u32,
}

pub struct Conversation {
    ctx: Arc<FlowContext>,
    watcher: StepWatcher,
    history: History,
    running: Option<Running>,
    speculation: Option<Speculation>,
    speculation_stats: SpeculationStats,
    /// Words of the current turn not yet committed to the history.
    spoken: String,
    llm: LlmFigures,
    ended: bool,
}

impl Conversation {
    pub fn new(ctx: Arc<FlowContext>) -> Self {
        let watcher = StepWatcher::new(ctx.config.clone());
        Self {
            ctx,
            watcher,
            history: History::default(),
            running: None,
            speculation: None,
            speculation_stats: SpeculationStats::default(),
            spoken: String::new(),
            llm: LlmFigures::default(),
            ended: false,
        }
    }

    pub fn context(&self) -> &Arc<FlowContext> {
        &self.ctx
    }

    pub fn watcher(&self) -> &StepWatcher {
        &self.watcher
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// A turn is generating (or waiting on a provider).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Opens the conversation at the start step (the agent is `thinking` from here).
    pub fn start(&mut self) {
        self.spawn(Trigger::Start);
    }

    /// The user finished a turn: records it and starts the agent's answer. A turn still
    /// running is cancelled first (its words so far count as said).
    pub fn user_turn(&mut self, text: &str) {
        if self.ended {
            return;
        }
        let speculation = self.speculation.take();
        if self.running.is_some() {
            self.cancel();
            self.commit_spoken(None);
        }
        self.history.push_user(text);
        self.ctx.emit(AgentEvent::Transcript { role: Role::User, text: text.trim().to_string(), r#final: true });
        match speculation {
            Some(speculation) if speculation.text == text => {
                // The reply is already on its way: its queued words come out at once.
                self.ctx.emit(AgentEvent::AgentState { state: AgentState::Thinking });
                let _ = speculation.confirm.send(());
                self.running = Some(speculation.running);
                self.speculation_stats.used += 1;
            }
            _ => self.spawn(Trigger::UserTurn),
        }
    }

    /// The user has probably finished with these words: start the reply now, to be used if
    /// their turn ends with exactly them ([`Self::user_turn`]). Nothing of it is said, and no
    /// step, tool or webhook runs, before that. Only while the agent is idle.
    pub fn preempt(&mut self, text: &str) {
        if self.ended || self.running.is_some() || self.speculation.as_ref().is_some_and(|s| s.text == text) {
            return;
        }
        let mut history = self.history.clone();
        history.push_user(text);
        let (tx, rx) = mpsc::channel(turn::TURN_QUEUE);
        let (confirm, confirmed) = oneshot::channel();
        let task = tokio::spawn(turn::run_speculative(self.ctx.clone(), self.watcher.clone(), history, tx, confirmed));
        let running = Running { events: rx, task };
        self.speculation = Some(Speculation { text: text.to_string(), running, confirm });
        self.speculation_stats.started += 1;
    }

    /// The user went on: the reply started ahead is dropped (its task and streams with it).
    pub fn drop_preempt(&mut self) {
        self.speculation = None;
    }

    pub fn speculation_stats(&self) -> SpeculationStats {
        self.speculation_stats
    }

    /// When the current timer step runs out, if one is current.
    pub fn timer_deadline(&self) -> Option<Instant> {
        if self.ended { None } else { self.watcher.timer_deadline() }
    }

    /// The timer step ran out while the agent is idle: move on.
    pub fn timer_expired(&mut self) {
        if !self.ended && self.running.is_none() {
            self.spawn(Trigger::TimerExpired);
        }
    }

    /// Stops the running turn at once, cancelling every provider request it has in flight.
    pub fn cancel(&mut self) {
        self.running = None;
    }

    /// Records what the agent said this turn: everything (`None`), or only what was played
    /// before an interruption. Emits the assistant transcript.
    pub fn commit_spoken(&mut self, played: Option<&str>) {
        let all = std::mem::take(&mut self.spoken);
        let said = played.unwrap_or(&all).trim().to_string();
        if said.is_empty() {
            return;
        }
        self.history.push_assistant(&said);
        self.ctx.emit(AgentEvent::Transcript { role: Role::Assistant, text: said, r#final: true });
    }

    /// The LLM figures gathered since the last call.
    pub fn take_llm_figures(&mut self) -> LlmFigures {
        std::mem::take(&mut self.llm)
    }

    /// The next thing to do; waits forever while no turn is running.
    pub async fn next(&mut self) -> Output {
        loop {
            let Some(running) = self.running.as_mut() else { return std::future::pending().await };
            let Some(event) = running.events.recv().await else {
                self.running = None;
                return Output::Done { ended: self.ended };
            };
            match event {
                TurnEvent::Watcher(watcher) => {
                    self.ended |= watcher.has_ended();
                    self.watcher = watcher;
                }
                TurnEvent::Text(text) => {
                    self.spoken.push_str(&text);
                    return Output::Text(text);
                }
                TurnEvent::ToolExchange(messages) => {
                    // Words said before a tool call belong to that call's message already.
                    if messages.first().is_some_and(|m| m.role == llm::Role::Assistant) {
                        let said = std::mem::take(&mut self.spoken);
                        if !said.trim().is_empty() {
                            self.ctx.emit(AgentEvent::Transcript {
                                role: Role::Assistant,
                                text: said.trim().to_string(),
                                r#final: true,
                            });
                        }
                    }
                    self.history.push_tool_exchange(messages);
                }
                TurnEvent::Llm { ttft, usage } => {
                    self.llm.ttft = self.llm.ttft.or(ttft);
                    if let Some(usage) = usage {
                        self.llm.prompt_tokens += usage.prompt_tokens;
                        self.llm.completion_tokens += usage.completion_tokens;
                        self.llm.cached_prompt_tokens += usage.cached_prompt_tokens;
                    }
                }
                TurnEvent::Ended => self.ended = true,
                TurnEvent::Event(event) => self.ctx.emit(event),
            }
        }
    }

    /// Starts a turn. The agent is thinking from here on; saying so here, before the turn's
    /// task can emit anything, keeps the event order the same on every run.
    fn spawn(&mut self, trigger: Trigger) {
        // A speculation was made on the state this turn is about to change.
        self.speculation = None;
        self.ctx.emit(AgentEvent::AgentState { state: AgentState::Thinking });
        let (tx, rx) = mpsc::channel(turn::TURN_QUEUE);
        let task = tokio::spawn(turn::run(self.ctx.clone(), self.watcher.clone(), self.history.clone(), trigger, tx));
        self.running = Some(Running { events: rx, task });
    }

    /// After the call: Structured Output, then the post-call webhook. Failures become `error`
    /// events; the returned object is the extraction, when one was configured and worked.
    pub async fn post_call(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let config = self.ctx.config.post_call.as_ref()?;
        let mut structured = None;
        if !config.structured_output.is_empty() {
            let (system, user) = postcall::extraction_prompt(
                &config.structured_output,
                config.command.as_deref(),
                &self.history.transcript_text(),
            );
            let messages = vec![message(llm::Role::System, system), message(llm::Role::User, user)];
            match self.ctx.post_call_llm().complete(messages).await {
                Ok(completion) => match postcall::parse_extraction(&completion.text, &config.structured_output) {
                    Some(fields) => structured = Some(fields),
                    None => self.ctx.emit(AgentEvent::error(
                        ErrorCode::PostCallFailed,
                        "Structured Output: the LLM answered no JSON object",
                    )),
                },
                Err(error) => {
                    self.ctx.emit(AgentEvent::error(ErrorCode::PostCallFailed, format!("Structured Output: {error}")))
                }
            }
        }
        if let Some(url) = config.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) {
            let payload =
                PostCallPayload { conversation: self.history.transcript(), structured_output: structured.as_ref() };
            if let Err(error) = webhook::post(self.ctx.runtime.egress(), url, &payload).await {
                tracing::warn!(%error, "post-call webhook failed");
                self.ctx.emit(AgentEvent::error(ErrorCode::PostCallFailed, error.to_string()));
            }
        }
        structured
    }
}
