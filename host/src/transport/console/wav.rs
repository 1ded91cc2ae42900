//! The WAV console as a session's user side: the user's audio is read from a file and played
//! into the session in real time; the agent's audio is written to a file on the same timeline
//! (silence where the agent is quiet), so the two files line up in any audio editor; events are
//! written as JSON lines.
//!
//! The "user" is there from the start. When the input file ends, silence follows until the
//! agent has been listening for [`IDLE_AFTER_INPUT`] (it answered the last turn), then the user
//! hangs up.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::audio::{AudioFrame, AudioIo, FramePeriod};
use crate::events::AgentState;
use crate::transport::{LinkError, Presence, UserLink, UserSide};

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

/// The console's link: each event a line of JSON; the agent's state kept for the feeder.
struct ConsoleLink {
    events: Mutex<Box<dyn Write + Send>>,
    state: watch::Sender<AgentState>,
}

impl UserLink for ConsoleLink {
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        let mut out = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let written = out.write_all(&json).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
        Box::pin(std::future::ready(written.map_err(LinkError::from)))
    }

    fn set_agent_state(&self, state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        self.state.send_replace(state);
        Box::pin(std::future::ready(Ok(())))
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
    /// Held so the session does not take the console for gone.
    _presence: mpsc::Sender<Presence>,
}

impl WavCall {
    /// The session's user side: `frames` played in real time once the conversation starts, the
    /// agent's audio recorded at `output_rate` until the session drops its side, events written
    /// to `events`.
    pub fn start(frames: Vec<AudioFrame>, output_rate: u32, events: Box<dyn Write + Send>) -> (UserSide, Self) {
        let (state, watched) = watch::channel(AgentState::Initializing);
        let link = Arc::new(ConsoleLink { events: Mutex::new(events), state });
        let (presence_tx, presence) = mpsc::channel(1);
        // Room for one message in a fresh channel: this cannot fail.
        let _ = presence_tx.try_send(Presence::UserJoined("console".into()));
        let (audio, ends) = AudioIo::pair();
        let started = Arc::new(OnceLock::new());
        let feeder = tokio::spawn(feed(frames, ends.microphone, watched, started.clone()));
        let mut speaker = ends.speaker;
        let recorder = tokio::spawn(async move {
            let mut samples: Vec<i16> = Vec::new();
            while let Some(frame) = speaker.recv().await {
                // Place each frame at its time on the input's timeline.
                let since = started.get().map_or(Duration::ZERO, Instant::elapsed);
                let at = (since.as_secs_f64() * f64::from(output_rate)) as usize;
                let at = at.saturating_sub(frame.samples().len());
                if samples.len() < at {
                    samples.resize(at, 0);
                }
                samples.extend_from_slice(frame.samples());
            }
            samples
        });
        // A WAV file has no talk button: no turn controls ever come.
        let side = UserSide { link, presence, audio, controls: mpsc::channel(1).1 };
        (side, Self { feeder, recorder, rate: output_rate, _presence: presence_tx })
    }

    /// After the session: stops playing and writes what the agent said to `output`.
    pub async fn finish(self, output: &Path) -> Result<(), WavError> {
        self.feeder.abort();
        let samples = self.recorder.await.unwrap_or_default();
        write(output, &samples, self.rate)
    }
}

/// Once the conversation has started, plays the frames in real time, then silence until the
/// agent has been idle long enough.
async fn feed(
    frames: Vec<AudioFrame>,
    input: mpsc::Sender<AudioFrame>,
    mut state: watch::Receiver<AgentState>,
    started: Arc<OnceLock<Instant>>,
) {
    if state.wait_for(|s| *s != AgentState::Initializing).await.is_err() {
        return;
    }
    let _ = started.set(Instant::now());
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
