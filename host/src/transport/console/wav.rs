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
use tokio::task::JoinHandle;

use crate::audio::{AudioFrame, AudioIo, FramePeriod};
use crate::events::{AgentEvent, AgentState, EventSink};

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

/// Passes events on to `inner` and keeps the agent's latest state, which the call needs to
/// know when the agent has answered the last turn.
pub fn watch_state(inner: Arc<dyn EventSink>) -> (Arc<dyn EventSink>, watch::Receiver<AgentState>) {
    let (state, watched) = watch::channel(AgentState::Initializing);
    (Arc::new(StateTee { inner, state }), watched)
}

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

/// A console call: the user's recording played into a session, the agent's audio recorded.
pub struct WavCall {
    feeder: JoinHandle<()>,
    recorder: JoinHandle<Vec<i16>>,
    rate: u32,
}

impl WavCall {
    /// Starts playing `frames` in real time; the session gets the returned audio. The agent's
    /// audio is recorded at `output_rate` until the session drops its side.
    pub fn start(frames: Vec<AudioFrame>, output_rate: u32, state: watch::Receiver<AgentState>) -> (AudioIo, Self) {
        let (audio, ends) = AudioIo::pair();
        let started = Instant::now();
        let feeder = tokio::spawn(feed(frames, ends.microphone, state));
        let mut speaker = ends.speaker;
        let recorder = tokio::spawn(async move {
            let mut samples: Vec<i16> = Vec::new();
            while let Some(frame) = speaker.recv().await {
                // Place each frame at its time on the session's clock.
                let at = (started.elapsed().as_secs_f64() * f64::from(output_rate)) as usize;
                let at = at.saturating_sub(frame.samples().len());
                if samples.len() < at {
                    samples.resize(at, 0);
                }
                samples.extend_from_slice(frame.samples());
            }
            samples
        });
        (audio, Self { feeder, recorder, rate: output_rate })
    }

    /// After the session: stops playing and writes what the agent said to `output`.
    pub async fn finish(self, output: &Path) -> Result<(), WavError> {
        self.feeder.abort();
        let samples = self.recorder.await.unwrap_or_default();
        write(output, &samples, self.rate)
    }
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
