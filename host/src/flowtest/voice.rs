//! A voice flow test's user: a microphone that never stops (20 ms frames on virtual time,
//! silence between turns), each turn's WAV played into it once the agent listens, and the
//! hang-up once the agent has answered the last.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::run::Listens;
use super::spec::Turn;
use super::speech::Heard;
use crate::audio::{AudioFrame, FramePeriod};
use crate::transport::console::wav;

/// One turn as the user plays it.
#[derive(Debug, Clone)]
pub struct Spoken {
    wait: Option<Duration>,
    /// What the STT hears once the clip has played (absent: nothing, a noise).
    text: Option<String>,
    clip: VecDeque<AudioFrame>,
    /// Frames of the clip up to its last audible one: once they are played the STT may hear
    /// the words (a VAD may end the speech before the clip's trailing quiet is over).
    speech_frames: usize,
}

/// A frame quieter than this (RMS, about -36 dBFS) is not speech.
const QUIET_RMS: f64 = 500.0;

fn audible(frame: &AudioFrame) -> bool {
    let samples = frame.samples();
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (energy / samples.len().max(1) as f64).sqrt() > QUIET_RMS
}

/// Why a voice test's audio cannot be played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VoiceError {
    #[error("turn {turn}: {message}")]
    Turn { turn: usize, message: String },
    #[error(transparent)]
    Wav(#[from] wav::WavError),
}

/// The turns with their WAVs read (paths relative to `base`); every clip of a test shares one
/// format, which the silence between them takes too.
pub fn load(turns: &[Turn], base: &Path) -> Result<(Vec<Spoken>, u32, u16), VoiceError> {
    let mut format = None;
    let mut spoken = Vec::new();
    for (index, turn) in turns.iter().enumerate() {
        let turn_error = |message: String| VoiceError::Turn { turn: index + 1, message };
        let clip = match &turn.audio {
            None if turn.user.is_some() => {
                return Err(turn_error("a voice test's user speaks: give `audio` (a WAV file) with `user`".into()));
            }
            None => VecDeque::new(),
            Some(relative) => {
                let frames = wav::read_frames(&base.join(relative))?;
                let first = frames.first().map(|f| (f.sample_rate(), f.channels()));
                match (first, format) {
                    (None, _) => return Err(turn_error(format!("{relative} holds no audio"))),
                    (Some(this), None) => format = Some(this),
                    (Some(this), Some(other)) if this != other => {
                        return Err(turn_error(format!(
                            "{relative} is {} Hz × {}, another clip {} Hz × {}; give every clip one format",
                            this.0, this.1, other.0, other.1
                        )));
                    }
                    _ => {}
                }
                frames.into()
            }
        };
        let speech_frames = clip.iter().rposition(audible).map_or(clip.len(), |last| last + 1);
        spoken.push(Spoken { wait: turn.wait, text: turn.user.clone(), clip, speech_frames });
    }
    let (rate, channels) = format.unwrap_or((16_000, 1));
    Ok((spoken, rate, channels))
}

/// Where the user is in the script.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the agent to listen (after answering, if the user said something).
    ForAgent {
        said: bool,
    },
    /// Letting time pass before the turn.
    Waiting {
        until: tokio::time::Instant,
    },
    Speaking,
}

/// Plays `turns` into `microphone` until the agent has answered the last; then hangs up by
/// dropping it.
pub async fn talk(
    turns: Vec<Spoken>,
    silence: AudioFrame,
    microphone: mpsc::Sender<AudioFrame>,
    listening: watch::Receiver<Listens>,
    heard: Arc<Heard>,
) {
    let mut turns: VecDeque<Spoken> = turns.into();
    let mut phase = Phase::ForAgent { said: false };
    let mut answered = 0;
    let mut clock = tokio::time::Instant::now();
    loop {
        let listens = *listening.borrow();
        let next = match phase {
            Phase::ForAgent { said } if listens.now && (!said || listens.times > answered) => {
                answered = listens.times;
                match turns.front().map(|turn| turn.wait) {
                    None => return,
                    Some(Some(wait)) => Phase::Waiting { until: clock + wait },
                    Some(None) => Phase::Speaking,
                }
            }
            // A timer may have made the agent speak meanwhile: the user lets it finish.
            Phase::Waiting { until } if clock >= until && listens.now => {
                answered = listens.times;
                Phase::Speaking
            }
            other => other,
        };
        if matches!(next, Phase::Speaking)
            && !matches!(phase, Phase::Speaking)
            && let Some(text) = turns.front().and_then(|turn| turn.text.as_deref())
        {
            heard.speaking(text);
        }
        phase = next;
        let playing = match phase {
            Phase::Speaking => turns.front_mut().and_then(|turn| {
                let frame = turn.clip.pop_front()?;
                turn.speech_frames = turn.speech_frames.saturating_sub(1);
                if turn.speech_frames == 0 && turn.text.is_some() {
                    heard.said();
                }
                Some(frame)
            }),
            _ => None,
        };
        let frame = match playing {
            Some(frame) => frame,
            None => {
                if let Phase::Speaking = phase
                    && let Some(turn) = turns.pop_front()
                {
                    let said = turn.text.is_some();
                    if said && turn.speech_frames > 0 {
                        heard.said();
                    }
                    phase = Phase::ForAgent { said };
                }
                silence.clone()
            }
        };
        if microphone.send(frame).await.is_err() {
            return;
        }
        clock += FramePeriod::Ms20.duration();
        tokio::time::sleep_until(clock).await;
    }
}
