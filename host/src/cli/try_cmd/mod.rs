//! `try llm|tts|stt`: one real streaming call to a provider through its plugin, with progress
//! on stderr and the result on stdout (or in a file).

mod llm;
mod stt;
mod tts;

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use voiceblox_host::plugin::{PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamOutput, types::Kind};

use super::PluginOptions;

#[derive(Subcommand, Debug)]
pub enum TryCommand {
    /// Stream a chat completion and print tokens as they arrive.
    Llm(llm::LlmArgs),
    /// Synthesize text into a WAV file.
    Tts(tts::TtsArgs),
    /// Transcribe a 16-bit mono WAV file, printing interim and final transcripts.
    Stt(stt::SttArgs),
}

/// Which provider to call and how to reach it.
#[derive(Args, Debug, Clone)]
pub struct ProviderArgs {
    /// Provider id, as `plugins list` shows it.
    #[arg(long)]
    pub provider: String,
    /// Model (a `provider/` prefix is accepted).
    #[arg(long, default_value = "")]
    pub model: String,
    /// Base URL of an API-compatible endpoint (its host is allowed for this call).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Language (BCP-47).
    #[arg(long)]
    pub language: Option<String>,
    /// Provider options as a JSON object.
    #[arg(long, default_value = "{}")]
    pub options: String,
}

impl ProviderArgs {
    /// Settings for the call; refuses early, naming the variable, when no key is available.
    fn settings(&self, runtime: &PluginRuntime, kind: Kind) -> anyhow::Result<ProviderSettings> {
        let options = match serde_json::from_str(&self.options) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => anyhow::bail!("--options must be a JSON object, got `{}`", self.options),
        };
        let settings = ProviderSettings {
            provider: self.provider.clone(),
            model: self.model.clone(),
            api_key: None,
            base_url: self.base_url.clone(),
            language: self.language.clone(),
            options,
        };
        if runtime.resolve_key(&settings, kind)?.is_none() && runtime.resolve_base_url(&settings, kind)?.is_none() {
            let vars = runtime.key_vars(&self.provider).join(" or ");
            if !vars.is_empty() {
                anyhow::bail!(
                    "no API key for provider `{}`: set {vars} (or pass --base-url for a keyless compatible server)",
                    self.provider
                );
            }
        }
        Ok(settings)
    }
}

pub async fn run(options: &PluginOptions, command: TryCommand) -> anyhow::Result<ExitCode> {
    let runtime = options.runtime().await?;
    for failure in runtime.registry().failures() {
        eprintln!("warning: {failure}");
    }
    match command {
        TryCommand::Llm(args) => llm::run(&runtime, args).await,
        TryCommand::Tts(args) => tts::run(&runtime, args).await,
        TryCommand::Stt(args) => stt::run(&runtime, args).await,
    }
}

/// Drains a stream, handing each event to `on_event`; the error if it failed.
async fn drain(
    stream: &mut StreamHandle,
    mut on_event: impl FnMut(voiceblox_host::plugin::types::Event),
) -> Result<(), StreamError> {
    while let Some(output) = stream.next().await {
        match output {
            StreamOutput::Event(event) => on_event(event),
            StreamOutput::Finished => return Ok(()),
            StreamOutput::Failed(error) => return Err(error),
        }
    }
    Ok(())
}

/// Progress line on stderr: what is happening and for how long.
fn progress(started: Instant, what: &str) {
    eprintln!("[{:>6.0} ms] {what}", started.elapsed().as_secs_f64() * 1000.0);
}
