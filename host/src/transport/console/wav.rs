//! The WAV console: the user's audio is read from a file and played into the session in real
//! time; the agent's audio is written to a file on the same timeline (silence where the agent
//! is quiet), so the two files line up in any audio editor.
//!
//! When the input file ends, silence follows until the agent has been listening for
//! [`IDLE_AFTER_INPUT`] (it answered the last turn), then the "user" hangs up.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::audio::{AudioFrame, FramePeriod};
use crate::events::{AgentEvent, AgentState, EventSink};
use crate::flow::FlowContext;
use crate::voice::Ending;
use crate::voice::{self, VoiceIo, VoiceOptions};

/// How long the agent must sit listening after the input ended before the session stops.
pub const IDLE_AFTER_INPUT: Duration = Duration::from_millis(2500);
/// The longest the session runs on after the input ended.
pub const MAX_TAIL: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: hound::Error },
    #[error("{path}: {detail}; convert it with: sox IN.wav -b 16 OUT.wav")]
    Format { path: String, detail: String },
    #[error("writing {path}: {source}")]
    Write { path: String, source: hound::Error },
}

/// A sink that also tracks the agent's state for the feeder.
struct StateTee {
    inner: Arc<dyn EventSink>,
    state: watch::Sender<AgentState>,
}

impl EventSink for StateTee {
    fn emit(&self, event: AgentEvent) {
        if let AgentEvent::AgentState { state } = &event {
            self.state.send_replace(*state);
        }
        self.inner.emit(event);
    }
}

/// The user's audio as 20 ms frames.
pub fn read_frames(path: &Path) -> Result<Vec<AudioFrame>, WavError> {
    let shown = path.display().to_string();
    let reader = hound::WavReader::open(path).map_err(|source| WavError::Read { path: shown.clone(), source })?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(WavError::Format {
            path: shown,
            detail: format!("{}-bit {:?} audio; 16-bit PCM is needed", spec.bits_per_sample, spec.sample_format),
        });
    }
    let samples: Vec<i16> = reader
        .into_samples()
        .collect::<Result<_, _>>()
        .map_err(|source| WavError::Read { path: shown.clone(), source })?;
    let whole = AudioFrame::new(samples, spec.sample_rate, spec.channels)
        .map_err(|e| WavError::Format { path: shown.clone(), detail: e.to_string() })?;
    whole.chunks(FramePeriod::Ms20).map_err(|e| WavError::Format { path: shown, detail: e.to_string() })
}

/// Runs a session from `input` to `output`. The context's sink receives the events.
pub async fn run(ctx: Arc<FlowContext>, input: &Path, output: &Path) -> Result<Ending, WavError> {
    let frames = read_frames(input)?;
    let options = VoiceOptions::default();
    let (state_tx, state_rx) = watch::channel(AgentState::Initializing);
    let tee: Arc<dyn EventSink> = Arc::new(StateTee { inner: ctx.sink.clone(), state: state_tx });
    let ctx = Arc::new(ctx.with_sink(tee));
    let (input_tx, input_rx) = mpsc::channel(16);
    let (output_tx, mut output_rx) = mpsc::channel::<AudioFrame>(64);
    let started = Instant::now();
    let rate = options.output_rate;
    let feeder = tokio::spawn(feed(frames, input_tx, state_rx));
    let recorder = tokio::spawn(async move {
        let mut samples: Vec<i16> = Vec::new();
        while let Some(frame) = output_rx.recv().await {
            // Place each frame at its time on the session's clock.
            let at = (started.elapsed().as_secs_f64() * f64::from(rate)) as usize;
            let at = at.saturating_sub(frame.samples().len());
            if samples.len() < at {
                samples.resize(at, 0);
            }
            samples.extend_from_slice(frame.samples());
        }
        samples
    });
    let ending = voice::run(ctx, options, VoiceIo { input: input_rx, output: output_tx }).await;
    feeder.abort();
    let samples = recorder.await.unwrap_or_default();
    write(output, &samples, rate)?;
    Ok(ending)
}

/// Plays the frames in real time, then silence until the agent has been idle long enough.
async fn feed(frames: Vec<AudioFrame>, input: mpsc::Sender<AudioFrame>, state: watch::Receiver<AgentState>) {
    let Some(first) = frames.first() else { return };
    let (rate, channels) = (first.sample_rate(), first.channels());
    let mut tick = tokio::time::interval(FramePeriod::Ms20.duration());
    for frame in frames {
        tick.tick().await;
        if input.send(frame).await.is_err() {
            return;
        }
    }
    let Ok(silence) = AudioFrame::silence(rate, channels, FramePeriod::Ms20) else { return };
    let tail_started = Instant::now();
    let mut idle_since: Option<Instant> = None;
    while tail_started.elapsed() < MAX_TAIL {
        tick.tick().await;
        if input.send(silence.clone()).await.is_err() {
            return;
        }
        if *state.borrow() == AgentState::Listening {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= IDLE_AFTER_INPUT {
                return;
            }
        } else {
            idle_since = None;
        }
    }
}

fn write(path: &Path, samples: &[i16], rate: u32) -> Result<(), WavError> {
    let shown = path.display().to_string();
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let error = |source| WavError::Write { path: shown.clone(), source };
    let mut writer = hound::WavWriter::create(path, spec).map_err(error)?;
    for sample in samples {
        writer.write_sample(*sample).map_err(error)?;
    }
    writer.finalize().map_err(error)
}
