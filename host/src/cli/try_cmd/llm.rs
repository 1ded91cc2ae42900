use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use voiceblox_host::plugin::types::{Event, Kind, LlmEvent};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, llm};

use super::{ProviderArgs, drain, progress};

#[derive(Args, Debug)]
pub struct LlmArgs {
    #[command(flatten)]
    provider: ProviderArgs,
    /// System prompt.
    #[arg(long)]
    system: Option<String>,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    max_tokens: Option<u32>,
    /// The user message.
    prompt: String,
}

pub async fn run(runtime: &PluginRuntime, args: LlmArgs) -> anyhow::Result<ExitCode> {
    let settings = args.provider.settings(runtime, Kind::Llm)?;
    let message = |role, content: String| llm::Message { role, content, tool_calls: vec![], tool_call_id: None };
    let mut messages = Vec::new();
    if let Some(system) = args.system {
        messages.push(message(llm::Role::System, system));
    }
    messages.push(message(llm::Role::User, args.prompt));
    let request = llm::Request {
        messages,
        tools: vec![],
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        extras: "{}".into(),
    };
    let started = Instant::now();
    progress(started, &format!("{} {}: waiting for the first token…", settings.provider, settings.model));
    let mut stream = runtime.open(&settings, OpenRequest::Llm(request)).await?;
    let mut first_token = None;
    let mut stdout = std::io::stdout();
    let result = drain(&mut stream, |event| match event {
        Event::Llm(LlmEvent::TextDelta(text)) => {
            first_token.get_or_insert_with(|| started.elapsed());
            let _ = write!(stdout, "{text}");
            let _ = stdout.flush();
        }
        Event::Llm(LlmEvent::ToolCall(call)) => println!("\n[tool call {} {}({})]", call.id, call.name, call.arguments),
        Event::Llm(LlmEvent::Usage(u)) => progress(
            started,
            &format!(
                "usage: {} prompt ({} cached) + {} completion tokens",
                u.prompt_tokens, u.cached_prompt_tokens, u.completion_tokens
            ),
        ),
        Event::Llm(LlmEvent::Finish(reason)) => progress(started, &format!("finish: {reason:?}")),
        other => tracing::debug!(?other, "unexpected event"),
    })
    .await;
    if first_token.is_some() {
        println!();
    }
    if let Some(ttft) = first_token {
        progress(started, &format!("done (first token after {} ms)", ttft.as_millis()));
    }
    result?;
    Ok(ExitCode::SUCCESS)
}
