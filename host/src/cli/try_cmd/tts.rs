use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use voiceblox_host::plugin::types::{Event, Kind, TtsEvent};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, StreamInput, tts};

use super::{ProviderArgs, drain, progress};

#[derive(Args, Debug)]
pub struct TtsArgs {
    #[command(flatten)]
    provider: ProviderArgs,
    /// Voice id.
    #[arg(long)]
    voice: Option<String>,
    /// Preferred output sample rate.
    #[arg(long)]
    sample_rate: Option<u32>,
    /// Where to write the audio (16-bit mono WAV).
    #[arg(long)]
    out: PathBuf,
    /// The text to speak.
    text: String,
}

pub async fn run(runtime: &PluginRuntime, args: TtsArgs) -> anyhow::Result<ExitCode> {
    let settings = args.provider.settings(runtime, Kind::Tts)?;
    let request =
        tts::Request { voice: args.voice, sample_rate: args.sample_rate, options: args.provider.options.clone() };
    let started = Instant::now();
    progress(
        started,
        &format!("{} {}: synthesizing {} characters…", settings.provider, settings.model, args.text.chars().count()),
    );
    let mut stream = runtime.open(&settings, OpenRequest::Tts(request)).await?;
    for input in [StreamInput::Text(args.text), StreamInput::Flush, StreamInput::End] {
        // A send fails only if the stream already ended; drain() reports why.
        if stream.send(input).await.is_err() {
            break;
        }
    }
    let mut pcm: Vec<i16> = Vec::new();
    let mut rate = 0;
    let mut first_audio = None;
    drain(&mut stream, |event| {
        if let Event::Tts(TtsEvent::Audio(audio)) = event {
            first_audio.get_or_insert_with(|| started.elapsed());
            rate = audio.sample_rate;
            pcm.extend(audio.pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        }
    })
    .await?;
    if pcm.is_empty() {
        anyhow::bail!("the provider returned no audio");
    }
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer =
        hound::WavWriter::create(&args.out, spec).with_context(|| format!("creating {}", args.out.display()))?;
    for sample in &pcm {
        writer.write_sample(*sample)?;
    }
    writer.finalize()?;
    progress(
        started,
        &format!(
            "wrote {} ({:.2} s of audio at {rate} Hz; first audio after {} ms)",
            args.out.display(),
            pcm.len() as f64 / f64::from(rate.max(1)),
            first_audio.map_or(0, |d| d.as_millis())
        ),
    );
    Ok(ExitCode::SUCCESS)
}
