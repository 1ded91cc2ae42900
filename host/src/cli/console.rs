//! `voiceblox-host console`: run a whole session locally, in text or from/to WAV files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;
use voiceblox_host::agent::{self, AgentJob, text};
use voiceblox_host::config::{Medium, Severity, ValidConfig};
use voiceblox_host::events::{EventSink, FanOutSink, JsonLinesSink};
use voiceblox_host::flow::{Conversation, FlowContext};
use voiceblox_host::plugin::PluginOptions;
use voiceblox_host::providers::RuntimeCatalog;
use voiceblox_host::record::format::RecordedMedium;
use voiceblox_host::record::{self, RecordOptions, RecordSettings};
use voiceblox_host::transport::console::wav;
use voiceblox_host::voice::VoiceOptions;

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// The AgentConfig (JSON).
    #[arg(long)]
    config: PathBuf,
    /// Text conversation: type the user's turns, read the agent's replies.
    #[arg(long, conflicts_with_all = ["input", "output"])]
    text: bool,
    /// The user's audio (WAV, 16-bit PCM, any rate, mono or stereo).
    #[arg(long, requires = "output")]
    input: Option<PathBuf>,
    /// Where to write the agent's audio (WAV, 16-bit mono), on the input's timeline.
    #[arg(long, requires = "input")]
    output: Option<PathBuf>,
    /// Where to write the session's events as JSON lines (default: stderr).
    #[arg(long)]
    events: Option<PathBuf>,
    #[command(flatten)]
    record: RecordOptions,
}

pub async fn run(options: &PluginOptions, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    if !args.text && args.input.is_none() {
        anyhow::bail!("choose a mode: --text, or --input USER.wav --output AGENT.wav");
    }
    let runtime = options.runtime().await?;
    for failure in runtime.registry().failures() {
        eprintln!("warning: {failure}");
    }
    let json = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let medium = if args.text { Medium::Text } else { Medium::Voice };
    let valid = match ValidConfig::parse(&json, &RuntimeCatalog(&runtime), medium) {
        Ok(valid) => {
            for warning in valid.warnings() {
                eprintln!("{}: {warning}", args.config.display());
            }
            valid
        }
        Err(error) => {
            for problem in &error.problems {
                eprintln!("{}: {problem}", args.config.display());
            }
            let errors = error.problems.iter().filter(|p| p.severity == Severity::Error).count();
            eprintln!("{}: refused ({errors} error(s)); the session did not start", args.config.display());
            return Ok(ExitCode::from(2));
        }
    };
    let events: Box<dyn Write + Send> = match &args.events {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            Box::new(std::io::BufWriter::new(file))
        }
        None => Box::new(std::io::stderr()),
    };
    if args.text {
        let agent = valid.into_config();
        let settings = args.record.settings();
        let recording = RecordSettings::for_session(settings.as_ref(), agent.record)
            .and_then(|r| record::session::start(r, &agent, &runtime, RecordedMedium::Text));
        let (recorder, runtime) = match recording {
            Some((recorder, runtime)) => (Some(recorder), runtime),
            None => (None, runtime),
        };
        let mut sinks: Vec<Arc<dyn EventSink>> = vec![Arc::new(JsonLinesSink::new(events))];
        sinks.extend(recorder.clone().map(|r| Arc::new(r) as Arc<dyn EventSink>));
        let sink: Arc<dyn EventSink> = Arc::new(FanOutSink(sinks));
        let tools = voiceblox_host::flow::setup::tools(&agent, &runtime, None, sink.as_ref()).await;
        let ctx = Arc::new(FlowContext::new(agent, runtime, tools, sink).with_recording(recorder.clone()));
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        let prompt = std::io::stdin().is_terminal();
        text::run(Conversation::new(ctx), stdin, &mut std::io::stdout(), prompt).await?;
        if let Some(recorder) = recorder {
            recorder.finish("the input ended");
            eprintln!("session recorded in {}", recorder.path().display());
        }
    } else if let (Some(input), Some(output)) = (&args.input, &args.output) {
        // The same session as in a room, on the console's user side.
        let frames = wav::read_frames(input)?;
        let voice = VoiceOptions::default();
        let (side, call) = wav::WavCall::start(frames, voice.output_rate, events);
        let job =
            AgentJob { config: Some(valid), options: voice, record: args.record.settings(), ..AgentJob::new(runtime) };
        let ending = agent::run(job, "", side, CancellationToken::new()).await?;
        call.finish(output).await?;
        eprintln!("session ended: {ending:?}; agent audio in {}", output.display());
    }
    Ok(ExitCode::SUCCESS)
}
