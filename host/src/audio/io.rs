//! A session's audio both ways, as channels: what a transport hands the voice loop.

use tokio::sync::mpsc;

use super::AudioFrame;

/// The user's microphone in, the agent's voice out.
pub struct AudioIo {
    /// The user's microphone, any rate and channel count. Closing it ends the session.
    pub input: mpsc::Receiver<AudioFrame>,
    /// The agent's voice: 20 ms mono frames at the session's output rate, sent in real time.
    /// A full channel drops the frame (counted and logged): late audio is worse than a gap.
    pub output: mpsc::Sender<AudioFrame>,
}

/// The transport's ends of an [`AudioIo`].
pub struct AudioEnds {
    /// Where the user's audio goes in; dropping it hangs up.
    pub microphone: mpsc::Sender<AudioFrame>,
    /// Where the agent's audio comes out.
    pub speaker: mpsc::Receiver<AudioFrame>,
}

/// Frames the microphone may queue ahead of the voice loop (320 ms).
pub const MICROPHONE_QUEUE: usize = 16;
/// Frames of agent audio the transport may fall behind by (1.28 s) before frames are dropped.
pub const SPEAKER_QUEUE: usize = 64;

impl AudioIo {
    /// A connected pair: the session's side and the transport's.
    pub fn pair() -> (AudioIo, AudioEnds) {
        let (microphone, input) = mpsc::channel(MICROPHONE_QUEUE);
        let (output, speaker) = mpsc::channel(SPEAKER_QUEUE);
        (AudioIo { input, output }, AudioEnds { microphone, speaker })
    }
}
