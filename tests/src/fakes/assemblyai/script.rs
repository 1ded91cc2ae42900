//! What a scripted `/v3/ws` session hears and how it ends.

use std::time::Duration;

use crate::fakes::faults::Fault;

/// One scripted word: `text` as written (the formatted form) and its span of received audio.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Word {
    pub(crate) formatted: String,
    pub(crate) start_ms: f64,
    pub(crate) end_ms: f64,
    pub(crate) confidence: f64,
}

impl Word {
    /// The unformatted form AssemblyAI sends without `format_turns`: lowercase, no punctuation.
    pub(crate) fn plain(&self) -> String {
        self.formatted.trim_matches(|c: char| c.is_ascii_punctuation() && c != '\'').to_lowercase()
    }
}

/// One scripted utterance: `text` is "spoken" from `start_ms` of received audio onwards, one
/// word every `word_ms`.
#[derive(Clone, Debug)]
pub(crate) struct Utterance {
    pub(crate) words: Vec<Word>,
}

impl Utterance {
    pub(crate) fn new(start_ms: u64, word_ms: u64, text: &str) -> Self {
        let (start, step) = (start_ms as f64, word_ms as f64);
        let words = text
            .split_whitespace()
            .enumerate()
            .map(|(i, token)| Word {
                formatted: token.to_owned(),
                start_ms: start + step * i as f64,
                end_ms: start + step * (i + 1) as f64,
                // Varies a little, like real confidences, but deterministically.
                confidence: 0.98 - 0.02 * (i % 3) as f64,
            })
            .collect();
        Utterance { words }
    }

    pub(crate) fn start_ms(&self) -> f64 {
        self.words.first().map_or(0.0, |w| w.start_ms)
    }
}

/// How `format_turns=true` sessions deliver the end of a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formatting {
    /// Formatting in the model (the servers since March 2026): every `Turn`, partials included,
    /// has `turn_is_formatted: true`, and one `end_of_turn` message ends the turn.
    InModel,
    /// A separate formatting pass (the servers before): partials and the `end_of_turn` message
    /// are unformatted, then a formatted copy of the ended turn follows.
    TrailingCopy,
}

/// How one `/v3/ws` WebSocket session behaves.
///
/// The session is driven by the audio it receives, not by the wall clock: "at 1200 ms" means
/// "once 1200 ms of audio (at the connection's `sample_rate`) have arrived". The same audio
/// therefore always produces the same messages, however it is chunked.
///
/// `Begin` comes first. At an utterance's first word `SpeechStarted` is sent; each newly heard
/// word sends a `Turn` update (the words so far, the newest with `word_is_final: false`); once
/// the last word has been heard and `min_turn_silence` ms (default 400) more audio arrived, an
/// `end_of_turn: true` update ends the turn (see [`Formatting`]). `ForceEndpoint` ends the
/// current turn at once with the words heard so far; `Terminate` ends it likewise, then sends
/// `Termination` and closes with 1000.
#[derive(Clone, Debug)]
pub struct StreamScript {
    pub(crate) utterances: Vec<Utterance>,
    pub(crate) word_ms: u64,
    pub(crate) formatting: Formatting,
    pub(crate) faults: Vec<(f64, Fault)>,
    pub(crate) language: String,
}

impl Default for StreamScript {
    fn default() -> Self {
        StreamScript::new()
    }
}

impl StreamScript {
    /// A session that hears no speech.
    pub fn new() -> Self {
        StreamScript {
            utterances: Vec::new(),
            word_ms: 250,
            formatting: Formatting::InModel,
            faults: Vec::new(),
            language: "en".into(),
        }
    }

    /// One utterance of `text`, starting after 300 ms of audio.
    pub fn transcript(text: &str) -> Self {
        StreamScript::new().utterance_at(300, text)
    }

    /// Adds an utterance starting once `start_ms` of audio arrived (in time order, without
    /// overlap). Words are whitespace-separated and written formatted (`Hello,`); the
    /// unformatted form is the lowercase word without punctuation.
    pub fn utterance_at(mut self, start_ms: u64, text: &str) -> Self {
        self.utterances.push(Utterance::new(start_ms, self.word_ms, text));
        self
    }

    /// Audio per word for the utterances added after this call (default 250 ms).
    pub fn word_ms(mut self, ms: u64) -> Self {
        self.word_ms = ms.max(1);
        self
    }

    /// How the end of a formatted turn is delivered (default [`Formatting::InModel`]).
    pub fn formatting(mut self, formatting: Formatting) -> Self {
        self.formatting = formatting;
        self
    }

    /// The `language_code` reported with `language_detection=true` (default `"en"`).
    pub fn language(mut self, code: &str) -> Self {
        self.language = code.into();
        self
    }

    /// Close the socket with `code` and `reason` once `audio_ms` of audio arrived (0: right
    /// after `Begin`), e.g. 3005 "Session Cancelled: An error occurred" or 3009 "Unauthorized
    /// Connection: Too many concurrent sessions".
    pub fn close_at(mut self, audio_ms: u64, code: u16, reason: &str) -> Self {
        self.faults.push((audio_ms as f64, Fault::Close { code, reason: reason.into() }));
        self
    }

    /// Drop the TCP connection without a close frame once `audio_ms` of audio arrived.
    pub fn drop_at(mut self, audio_ms: u64) -> Self {
        self.faults.push((audio_ms as f64, Fault::Drop));
        self
    }
}

/// The handshake options that shape a session, from its query.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) format_turns: bool,
    pub(crate) min_turn_silence_ms: f64,
    pub(crate) language_detection: bool,
    pub(crate) inactivity_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options { format_turns: false, min_turn_silence_ms: 400.0, language_detection: false, inactivity_timeout: None }
    }
}
