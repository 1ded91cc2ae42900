use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use voiceblox_host::plugin::types::{Event, Kind, SttEvent};
use voiceblox_host::plugin::{OpenRequest, PluginRuntime, StreamInput, stt};

use super::{ProviderArgs, drain, progress};

/// Frames of 20 ms, as a microphone pipeline would send them.
const FRAME_MS: u32 = 20;

#[derive(Args, Debug)]
pub struct SttArgs {
    #[command(flatten)]
    provider: ProviderArgs,
    /// Send audio at real-time pace instead of as fast as possible.
    #[arg(long)]
    realtime: bool,
    /// 16-bit mono WAV at the provider's sample rate (usually 16 kHz).
    file: PathBuf,
}

pub async fn run(runtime: &PluginRuntime, args: SttArgs) -> anyhow::Result<ExitCode> {
    let settings = args.provider.settings(runtime, Kind::Stt)?;
    let plugin = runtime.plugin_for(&settings.provider, Kind::Stt)?;
    let rate = plugin.provider(&settings.provider).and_then(|p| p.stt_sample_rate).unwrap_or(16_000);
    let samples = read_wav(&args.file, rate)?;
    let request = stt::Request {
        sample_rate: rate,
        interim_results: true,
        detect_language: false,
        diarization: false,
        keyterms: vec![],
        endpointing_ms: Some(300),
        options: args.provider.options.clone(),
    };
    let started = Instant::now();
    progress(
        started,
        &format!(
            "{} {}: sending {:.2} s of audio…",
            settings.provider,
            settings.model,
            samples.len() as f64 / f64::from(rate)
        ),
    );
    let mut stream = runtime.open(&settings, OpenRequest::Stt(request)).await?;
    let sender = stream.sender();
    let frame = (rate * FRAME_MS / 1000) as usize;
    let realtime = args.realtime;
    let feeder = tokio::spawn(async move {
        for chunk in samples.chunks(frame) {
            if sender.send(StreamInput::Audio(chunk.to_vec())).await.is_err() {
                return;
            }
            if realtime {
                tokio::time::sleep(Duration::from_millis(u64::from(FRAME_MS))).await;
            }
        }
        let _ = sender.send(StreamInput::Flush).await;
        let _ = sender.send(StreamInput::End).await;
    });
    let result = drain(&mut stream, |event| match event {
        Event::Stt(SttEvent::Interim(t)) => progress(started, &format!("interim: {}", t.text)),
        Event::Stt(SttEvent::Final(t)) => {
            // Deepgram answers a Finalize with an empty final when nothing was pending.
            if !t.text.is_empty() {
                println!("{}", t.text);
            }
            progress(
                started,
                &format!(
                    "final ({:.2}–{:.2} s, confidence {:.2})",
                    f64::from(t.start_ms) / 1000.0,
                    f64::from(t.end_ms) / 1000.0,
                    t.confidence
                ),
            );
        }
        Event::Stt(SttEvent::SpeechStarted(ms)) => progress(started, &format!("speech started at {ms} ms")),
        Event::Stt(SttEvent::SpeechEnded(ms)) => progress(started, &format!("utterance ended at {ms} ms")),
        other => tracing::debug!(?other, "unexpected event"),
    })
    .await;
    feeder.abort();
    result?;
    Ok(ExitCode::SUCCESS)
}

fn read_wav(path: &PathBuf, rate: u32) -> anyhow::Result<Vec<i16>> {
    let reader = hound::WavReader::open(path).with_context(|| format!("reading {}", path.display()))?;
    let spec = reader.spec();
    if spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
        || spec.sample_rate != rate
    {
        anyhow::bail!(
            "{} is {} Hz, {} channel(s), {}-bit; this provider needs {rate} Hz mono 16-bit (convert with: sox IN.wav -r {rate} -c 1 -b 16 OUT.wav)",
            path.display(),
            spec.sample_rate,
            spec.channels,
            spec.bits_per_sample
        );
    }
    reader.into_samples::<i16>().collect::<Result<_, _>>().with_context(|| format!("decoding {}", path.display()))
}
