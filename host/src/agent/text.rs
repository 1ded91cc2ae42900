//! The text console: user turns are lines of input, the agent's words are streamed out.

use std::io::Write;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::events::{AgentEvent, AgentState, TurnMetrics};
use crate::flow::{Conversation, Output};
use crate::record::format::Entry;

/// Runs the conversation until it ends or the input does, then the post-call steps.
/// `prompt`: show `you> ` before each user turn (a terminal).
pub async fn run<R, W>(mut conversation: Conversation, input: R, out: &mut W, prompt: bool) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let ctx = conversation.context().clone();
    let state = |state| ctx.emit(AgentEvent::AgentState { state });
    let mut lines = input.lines();
    let mut turn = 0u32;
    let mut speaking = false;
    state(AgentState::Initializing);
    conversation.start();
    loop {
        let timer = conversation.timer_deadline();
        tokio::select! {
            output = conversation.next() => match output {
                Output::Text(text) => {
                    if !speaking {
                        speaking = true;
                        state(AgentState::Speaking);
                        write!(out, "agent> ")?;
                    }
                    write!(out, "{text}")?;
                    out.flush()?;
                }
                Output::Done { ended } => {
                    if speaking {
                        writeln!(out)?;
                    }
                    speaking = false;
                    conversation.commit_spoken(None);
                    turn += 1;
                    let llm = conversation.take_llm_figures();
                    ctx.emit(AgentEvent::Metrics(TurnMetrics {
                        turn,
                        llm_ttft_ms: llm.ttft.map(|d| d.as_secs_f64() * 1000.0),
                        prompt_tokens: llm.prompt_tokens,
                        completion_tokens: llm.completion_tokens,
                        cached_prompt_tokens: llm.cached_prompt_tokens,
                        ..Default::default()
                    }));
                    if ended {
                        break;
                    }
                    state(AgentState::Listening);
                    if prompt {
                        write!(out, "you> ")?;
                        out.flush()?;
                    }
                }
            },
            line = lines.next_line(), if !conversation.is_running() => match line? {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    if let Some(recorder) = &ctx.recording {
                        recorder.write(Entry::UserText { text: line.clone() });
                    }
                    conversation.user_turn(&line);
                }
                None => {
                    if let Some(recorder) = &ctx.recording {
                        recorder.write(Entry::UserTextEnd);
                    }
                    break;
                }
            },
            _ = sleep_until(timer), if timer.is_some() && !conversation.is_running() => {
                conversation.timer_expired();
            }
        }
    }
    conversation.post_call().await;
    Ok(())
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}
