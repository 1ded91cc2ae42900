//! One agent turn: what the step engine decides when the session starts, when the user
//! finishes a turn or when a timer runs out — branch evaluations, webhooks, the closing line
//! — and the LLM reply with its tool calls.
//!
//! A turn runs as its own task on a snapshot of the conversation and reports back through
//! [`TurnEvent`]s; cancelling it (an interruption) aborts the task, which drops every provider
//! stream it has open.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::context::FlowContext;
use super::history::History;
use super::prompt::{self, Moment};
use super::toolbox::STEP_COMPLETE;
use super::watcher::{Decision, StepWatcher};
use super::webhook::{self, StepPayload};
use crate::config::{ConversationStep, StepKind};
use crate::events::{AgentEvent, ErrorCode};
use crate::plugin::types::{ToolCall, Usage};
use crate::plugin::{StreamError, llm};
use crate::providers::llm::{LlmChunk, message};

/// LLM rounds with tools per turn (the field's default step limit); one more without tools
/// makes the model answer in words.
pub const MAX_TOOL_STEPS: usize = 3;

/// Events a turn may have reported before the conversation takes them; then it waits, which
/// holds back its LLM stream (backpressure, never a dropped word).
pub const TURN_QUEUE: usize = 64;

/// What starts a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The session begins: the start step.
    Start,
    /// The user finished a turn (already in the history).
    UserTurn,
    /// The current timer step ran out while the agent was idle.
    TimerExpired,
    /// The user has probably finished (preemptive generation): answer ahead of the end of
    /// their turn, but take no step and run no tool until the turn is confirmed.
    Speculative,
}

/// What a running turn reports to its conversation.
#[derive(Debug, Clone)]
pub enum TurnEvent {
    /// The step engine moved; adopt this state.
    Watcher(StepWatcher),
    /// Words for the agent to say.
    Text(String),
    /// An assistant message that called tools and the tool answers, for the LLM history.
    ToolExchange(Vec<llm::Message>),
    /// One LLM request's time to first token and usage.
    Llm { ttft: Option<Duration>, usage: Option<Usage> },
    /// The conversation is over once these words are said.
    Ended,
    /// An event for the session, emitted in order with the words around it.
    Event(AgentEvent),
}

/// Runs a turn to completion, reporting on `out`.
pub async fn run(
    ctx: Arc<FlowContext>,
    watcher: StepWatcher,
    history: History,
    trigger: Trigger,
    out: mpsc::Sender<TurnEvent>,
) {
    let mut turn = Turn { ctx, watcher, history, out, gate: None };
    turn.run(trigger).await;
}

/// Runs a [`Trigger::Speculative`] turn: its words queue up on `out` (unread until the turn
/// is confirmed), and anything with effects beyond the reply (entering a step, a webhook, a
/// tool call, an error event) waits for `confirmed`. A speculation that is not confirmed is
/// aborted, so those never happen.
pub async fn run_speculative(
    ctx: Arc<FlowContext>,
    watcher: StepWatcher,
    history: History,
    out: mpsc::Sender<TurnEvent>,
    confirmed: oneshot::Receiver<()>,
) {
    let mut turn = Turn { ctx, watcher, history, out, gate: Some(confirmed) };
    turn.run(Trigger::Speculative).await;
}

struct Turn {
    ctx: Arc<FlowContext>,
    watcher: StepWatcher,
    history: History,
    out: mpsc::Sender<TurnEvent>,
    /// A speculative turn's wait for confirmation; `None` once confirmed (or never speculative).
    gate: Option<oneshot::Receiver<()>>,
}

impl Turn {
    async fn run(&mut self, trigger: Trigger) {
        match trigger {
            Trigger::Start => self.open().await,
            Trigger::UserTurn | Trigger::Speculative => {
                if self.watcher.on_user_turn(crate::clock::now()) == Decision::Advance {
                    self.confirmed().await;
                    self.report(TurnEvent::Watcher(self.watcher.clone())).await;
                    if !self.advance(None).await {
                        return;
                    }
                } else {
                    // Round counts are state too.
                    self.report(TurnEvent::Watcher(self.watcher.clone())).await;
                }
                self.reply(Moment::Reply).await;
            }
            Trigger::TimerExpired => {
                if self.advance(None).await {
                    self.reply(Moment::Transition).await;
                }
            }
        }
    }

    /// The start step: its line (verbatim or generated), then on to the next step at once.
    async fn open(&mut self) {
        let Some(start) = self.watcher.enter_start(crate::clock::now()).cloned() else {
            self.emit(AgentEvent::error(ErrorCode::InvalidConfig, "the config has no single start step")).await;
            self.finish().await;
            return;
        };
        self.entered(&start).await;
        let (command, literal) = match &start.kind {
            StepKind::Start { command, is_literal } => (command.clone().unwrap_or_default(), *is_literal),
            _ => (String::new(), false),
        };
        if literal && !command.trim().is_empty() {
            self.say(&command).await;
            self.advance(None).await;
            return;
        }
        if self.advance(None).await {
            let instruction = if command.trim().is_empty() { "Greet the user and say who you are." } else { &command };
            self.reply(Moment::Opening(instruction)).await;
        }
    }

    /// Follows the current step's `handle` (the linear successor when `None`) through
    /// automatic steps (branches, webhooks) until a conversational step is current (`true`)
    /// or the conversation ended (`false`, closing words said).
    async fn advance(&mut self, mut handle: Option<String>) -> bool {
        // Each automatic step is visited at most once per advance, so a cycle of them ends.
        for _ in 0..=self.watcher.config().steps.len() {
            let Some(next) = self.watcher.successor(handle.as_deref()).cloned() else {
                if let Some(handle) = &handle {
                    tracing::info!(%handle, "branch leads nowhere; the conversation ends");
                }
                self.close(None).await;
                return false;
            };
            self.watcher.enter(&next.id, crate::clock::now());
            self.entered(&next).await;
            handle = match &next.kind {
                StepKind::Burst { .. } | StepKind::Timer { .. } | StepKind::Opentalk { .. } => return true,
                StepKind::Ifelse { condition_text } => {
                    Some(self.evaluate_condition(&next, condition_text.as_deref().unwrap_or("")).await.to_string())
                }
                StepKind::Categorize { command, categories } => {
                    Some(self.categorize(&next, command.as_deref(), categories).await)
                }
                StepKind::Webhook { webhook_url } => {
                    self.webhook(&next, webhook_url.as_deref()).await;
                    None
                }
                StepKind::Transfer { command, is_literal, transfer_to } => {
                    if !self.transfer(&next, command.as_deref(), *is_literal, transfer_to.as_deref()).await {
                        return false;
                    }
                    // The transfer failed: the next step, if there is one, takes over.
                    None
                }
                StepKind::End { command, is_literal } => {
                    // The closing line is the step's, if it has one: an end step without a
                    // command ends the call without asking the LLM for words nobody wrote.
                    match command.as_deref().filter(|c| !c.trim().is_empty()) {
                        Some(line) if *is_literal => {
                            self.say(line).await;
                            self.finish().await;
                        }
                        Some(instruction) => self.close(Some(instruction)).await,
                        None => self.finish().await,
                    }
                    return false;
                }
                StepKind::Start { .. } => None,
            };
        }
        self.emit(AgentEvent::error(ErrorCode::InvalidConfig, "the steps loop without a conversational step")).await;
        self.finish().await;
        false
    }

    /// A transfer step: its line (verbatim, or the LLM's words on its instruction), then the
    /// call handed over. Said as it is handed over: a transfer rings the far end for a while,
    /// during which the caller hears the line. `false` when the call went (the conversation is
    /// over: the caller leaves), `true` when it could not (an `error` event says why).
    async fn transfer(&mut self, step: &ConversationStep, line: Option<&str>, literal: bool, to: Option<&str>) -> bool {
        match line.filter(|l| !l.trim().is_empty()) {
            Some(line) if literal => self.say(line).await,
            Some(instruction) => {
                let system = prompt::system_prompt(self.watcher.config(), None, Moment::Closing(Some(instruction)));
                self.generate(system, Vec::new()).await;
            }
            None => {}
        }
        let config = self.watcher.config();
        let dialtone = config.transfer.as_ref().is_some_and(|t| t.play_dialtone);
        let to = to.or(config.transfer.as_ref().map(|t| t.to.as_str())).unwrap_or("").trim().to_string();
        match self.ctx.transfer(&to, dialtone).await {
            Ok(()) => {
                tracing::info!(step = %step.id, %to, "call transferred");
                self.finish().await;
                false
            }
            Err(reason) => {
                let message = format!("step {}: the call could not be transferred to {to}: {reason}", step.id);
                self.emit(AgentEvent::error(ErrorCode::TransferFailed, message)).await;
                true
            }
        }
    }

    /// Says goodbye (the end step's instruction, or a plain one) and ends the conversation.
    async fn close(&mut self, instruction: Option<&str>) {
        let instruction = instruction.filter(|i| !i.trim().is_empty());
        let system = prompt::system_prompt(self.watcher.config(), None, Moment::Closing(instruction));
        self.watcher.end();
        self.generate(system, Vec::new()).await;
        self.finish().await;
    }

    async fn finish(&mut self) {
        self.watcher.end();
        self.report(TurnEvent::Watcher(self.watcher.clone())).await;
        self.report(TurnEvent::Ended).await;
    }

    async fn entered(&self, step: &ConversationStep) {
        self.emit(AgentEvent::StepChange { step_id: step.id.clone(), step_type: step.kind.name().into() }).await;
        self.report(TurnEvent::Watcher(self.watcher.clone())).await;
    }

    /// Events go through the queue too, so they keep their place among the words: a step
    /// change after a greeting is emitted after the greeting started, however the tasks run.
    async fn emit(&self, event: AgentEvent) {
        self.report(TurnEvent::Event(event)).await;
    }

    async fn say(&self, text: &str) {
        self.report(TurnEvent::Text(text.to_string())).await;
    }

    /// Waits while the conversation is behind (the queue is bounded: a turn cannot run ahead
    /// of the voice loop by more than [`TURN_QUEUE`] events).
    async fn report(&self, event: TurnEvent) {
        // The conversation dropped the receiver only when it cancelled this turn.
        let _ = self.out.send(event).await;
    }

    async fn evaluate_condition(&mut self, step: &ConversationStep, condition: &str) -> bool {
        let (system, user) = prompt::condition_prompt(condition, &self.history.transcript_text());
        let answer = self.evaluate(step, system, user).await;
        match answer.as_deref().map(prompt::parse_condition) {
            Some(Some(verdict)) => verdict,
            Some(None) => {
                let answer = answer.unwrap_or_default();
                self.emit(AgentEvent::error(
                    ErrorCode::EvaluationFailed,
                    format!(
                        "step {}: the evaluation answered `{}`, not true/false; taking false",
                        step.id,
                        clip(&answer)
                    ),
                ))
                .await;
                false
            }
            None => false,
        }
    }

    async fn categorize(
        &mut self,
        step: &ConversationStep,
        instruction: Option<&str>,
        categories: &[String],
    ) -> String {
        let fallback = categories.first().cloned().unwrap_or_default();
        let (system, user) = prompt::category_prompt(instruction, categories, &self.history.transcript_text());
        let Some(answer) = self.evaluate(step, system, user).await else { return fallback };
        match prompt::parse_category(&answer, categories) {
            Some(category) => category.clone(),
            None => {
                self.emit(AgentEvent::error(
                    ErrorCode::EvaluationFailed,
                    format!(
                        "step {}: the evaluation answered `{}`, which is none of the categories; taking `{fallback}`",
                        step.id,
                        clip(&answer)
                    ),
                ))
                .await;
                fallback
            }
        }
    }

    /// Asks the step's evaluation LLM; `None` (after an `error` event) when it failed.
    async fn evaluate(&mut self, step: &ConversationStep, system: String, user: String) -> Option<String> {
        let llm = self.ctx.evaluation_llm(step);
        let messages = vec![message(llm::Role::System, system), message(llm::Role::User, user)];
        let mut attempt = 0;
        loop {
            match llm.complete(messages.clone()).await {
                Ok(completion) => {
                    self.report(TurnEvent::Llm { ttft: None, usage: completion.usage }).await;
                    return Some(completion.text);
                }
                Err(error) => match error.retry_delay().filter(|_| attempt == 0) {
                    Some(delay) => {
                        attempt += 1;
                        tokio::time::sleep(delay).await;
                    }
                    None => {
                        self.emit(AgentEvent::error(
                            ErrorCode::EvaluationFailed,
                            format!("step {}: evaluation LLM failed: {error}; taking the default branch", step.id),
                        ))
                        .await;
                        return None;
                    }
                },
            }
        }
    }

    async fn webhook(&mut self, step: &ConversationStep, url: Option<&str>) {
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else { return };
        let payload = StepPayload {
            conversation: self.history.transcript(),
            step_id: &step.id,
            agent_name: &self.watcher.config().agent_name,
        };
        if let Err(error) = webhook::post(self.ctx.runtime.egress(), url, &payload).await {
            tracing::warn!(step = %step.id, %error, "webhook step failed; the call goes on");
            self.emit(AgentEvent::error(ErrorCode::WebhookFailed, error.to_string())).await;
        }
    }

    /// The agent's reply under the current step, with tool calls.
    async fn reply(&mut self, mut moment: Moment<'_>) {
        for round in 0..=MAX_TOOL_STEPS {
            let step = self.watcher.current();
            let system = prompt::system_prompt(self.watcher.config(), step, moment);
            let step_complete = step.is_some_and(|s| matches!(s.kind, StepKind::Opentalk { .. }));
            let tools = if round < MAX_TOOL_STEPS { self.ctx.tools.definitions(step_complete) } else { Vec::new() };
            let Some(calls) = self.generate(system, tools).await else { return };
            if calls.is_empty() {
                return;
            }
            self.confirmed().await;
            let completed = self.run_tools(calls).await;
            if completed {
                if !self.advance(None).await {
                    return;
                }
                moment = Moment::Transition;
            } else {
                moment = Moment::Reply;
            }
        }
    }

    /// One LLM request: speaks its text, returns its tool calls (after recording the
    /// assistant message that made them). `None` when the request failed (reported).
    async fn generate(&mut self, system: String, tools: Vec<llm::ToolDefinition>) -> Option<Vec<ToolCall>> {
        let messages = self.history.with_system(system);
        let mut attempt = 0;
        let mut text = String::new();
        let mut calls = Vec::new();
        let mut usage = None;
        let mut reply = loop {
            match self.ctx.llm.stream(messages.clone(), tools.clone()).await {
                Ok(reply) => break reply,
                Err(error) => match error.retry_delay().filter(|_| attempt == 0) {
                    Some(delay) => {
                        attempt += 1;
                        tokio::time::sleep(delay).await;
                    }
                    None => return self.llm_failed(&error).await,
                },
            }
        };
        while let Some(chunk) = reply.next().await {
            match chunk {
                Ok(LlmChunk::Text(delta)) => {
                    text.push_str(&delta);
                    self.report(TurnEvent::Text(delta)).await;
                }
                Ok(LlmChunk::ToolCall(call)) => calls.push(call),
                Ok(LlmChunk::Usage(u)) => usage = Some(u),
                Ok(LlmChunk::Finish(_)) => {}
                Err(error) if text.is_empty() && calls.is_empty() && attempt == 0 && error.retry_delay().is_some() => {
                    // Failed before saying anything: one more try, the user heard nothing yet.
                    attempt += 1;
                    tokio::time::sleep(error.retry_delay().unwrap_or_default()).await;
                    reply = match self.ctx.llm.stream(messages.clone(), tools.clone()).await {
                        Ok(reply) => reply,
                        Err(error) => return self.llm_failed(&error).await,
                    };
                }
                Err(error) => {
                    self.report(TurnEvent::Llm { ttft: reply.time_to_first_token(), usage }).await;
                    return self.llm_failed(&error).await;
                }
            }
        }
        self.report(TurnEvent::Llm { ttft: reply.time_to_first_token(), usage }).await;
        if !calls.is_empty() {
            let assistant = llm::Message {
                role: llm::Role::Assistant,
                content: text,
                tool_calls: calls.clone(),
                tool_call_id: None,
            };
            self.history.push_tool_exchange(vec![assistant.clone()]);
            self.report(TurnEvent::ToolExchange(vec![assistant])).await;
        }
        Some(calls)
    }

    /// Returns once the turn is confirmed (at once for a turn that was never speculative). An
    /// abandoned speculation never gets past here: its task is aborted while it waits.
    async fn confirmed(&mut self) {
        if let Some(gate) = self.gate.take()
            && gate.await.is_err()
        {
            std::future::pending::<()>().await;
        }
    }

    async fn llm_failed(&mut self, error: &StreamError) -> Option<Vec<ToolCall>> {
        self.confirmed().await;
        tracing::warn!(%error, "LLM request failed");
        self.emit(AgentEvent::error(ErrorCode::LlmFailed, error.to_string())).await;
        None
    }

    /// Runs the calls in order, answering each in the history; true when the LLM declared the
    /// current step complete.
    async fn run_tools(&mut self, calls: Vec<ToolCall>) -> bool {
        let mut completed = false;
        let mut answers = Vec::with_capacity(calls.len());
        for call in calls {
            let (content, ok) = if call.name == STEP_COMPLETE {
                completed = true;
                ("Step complete.".to_string(), true)
            } else {
                self.call_tool(&call).await
            };
            answers.push(llm::Message {
                role: llm::Role::Tool,
                content: if ok { content } else { format!("Error: {content}") },
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id),
            });
        }
        self.history.push_tool_exchange(answers.clone());
        self.report(TurnEvent::ToolExchange(answers)).await;
        completed
    }

    async fn call_tool(&self, call: &ToolCall) -> (String, bool) {
        let arguments: serde_json::Value =
            match serde_json::from_str(if call.arguments.trim().is_empty() { "{}" } else { &call.arguments }) {
                Ok(value) => value,
                Err(error) => serde_json::Value::String(format!("(unparsable: {error})")),
            };
        let provider = self.ctx.tools.find(&call.name);
        self.emit(AgentEvent::ToolCall {
            call_id: call.id.clone(),
            tool_name: call.name.clone(),
            // A tool the LLM made up is answered by the step engine (with an error).
            source: provider.map_or(crate::events::ToolSource::Flow, |p| p.source()),
            arguments: arguments.clone(),
        })
        .await;
        let Some(provider) = provider else {
            let error = super::tools::ToolError::UnknownTool(call.name.clone()).to_string();
            self.tool_result(call, Err(&error)).await;
            return (error, false);
        };
        if arguments.is_string() {
            let error = format!("the arguments of `{}` are not JSON: {}", call.name, clip(&call.arguments));
            self.tool_result(call, Err(&error)).await;
            return (error, false);
        }
        match provider.call(&call.name, arguments).await {
            Ok(result) => {
                self.tool_result(call, Ok(&result)).await;
                (result, true)
            }
            Err(error) => {
                let error = error.to_string();
                self.tool_result(call, Err(&error)).await;
                (error, false)
            }
        }
    }

    async fn tool_result(&self, call: &ToolCall, outcome: Result<&str, &str>) {
        self.emit(AgentEvent::ToolResult {
            call_id: call.id.clone(),
            tool_name: call.name.clone(),
            ok: outcome.is_ok(),
            result: outcome.ok().map(String::from),
            error: outcome.err().map(String::from),
        })
        .await;
    }
}

/// An answer quoted in an error event, kept short.
fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}
