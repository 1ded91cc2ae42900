//! What a scripted `/v1/listen` session hears and how it ends.

use std::time::Duration;

use super::messages::Word;
use crate::fakes::faults::Fault;
use crate::fakes::wire::Reply;

/// Deepgram closes a socket that received neither audio nor text for about this long.
pub const DEFAULT_INACTIVITY_TIMEOUT: Duration = Duration::from_secs(10);

/// One scripted utterance: `text` is "spoken" from `start_ms` of received audio onwards, one
/// word every `word_ms`.
#[derive(Clone, Debug)]
pub(crate) struct Utterance {
    pub(crate) start_ms: f64,
    pub(crate) word_ms: f64,
    pub(crate) words: Vec<Word>,
}

impl Utterance {
    pub(crate) fn new(start_ms: u64, word_ms: u64, text: &str) -> Self {
        let (start, step) = (start_ms as f64, word_ms as f64);
        let words = text
            .split_whitespace()
            .enumerate()
            .map(|(i, token)| Word {
                word: token.trim_matches(|c: char| c.is_ascii_punctuation() && c != '\'').to_lowercase(),
                punctuated: token.to_owned(),
                start_ms: start + step * i as f64,
                end_ms: start + step * (i + 1) as f64,
                // Varies a little, like real confidences, but deterministically.
                confidence: 0.99 - 0.01 * (i % 3) as f64,
            })
            .collect();
        Utterance { start_ms: start, word_ms: step, words }
    }

    pub(crate) fn end_ms(&self) -> f64 {
        self.start_ms + self.word_ms * self.words.len() as f64
    }
}

/// How one `/v1/listen` WebSocket session behaves.
///
/// The session is driven by the audio it receives, not by the wall clock: "at 1200 ms" means
/// "once 1200 ms of audio (at the connection's `sample_rate`) have arrived". The same audio
/// therefore always produces the same messages, however it is framed.
///
/// With `interim_results=true` every newly heard word produces an interim `Results`; when an
/// utterance's last word has been heard and `endpointing` ms (default 10) more audio arrived,
/// a final `Results` with `speech_final: true` follows (`endpointing=false`: 500 ms later, with
/// `speech_final: false`). `vad_events=true` adds `SpeechStarted` at the first word;
/// `utterance_end_ms=N` adds `UtteranceEnd` N ms after the last word. During silence with
/// interim results on, an empty interim `Results` is sent every second of audio, as Deepgram
/// does (turn off with [`ListenScript::no_silence_results`]).
#[derive(Clone, Debug)]
pub struct ListenScript {
    pub(crate) utterances: Vec<Utterance>,
    pub(crate) word_ms: u64,
    pub(crate) faults: Vec<(f64, Fault)>,
    pub(crate) inactivity_timeout: Option<Duration>,
    pub(crate) reject: Option<Reply>,
    pub(crate) silence_results: bool,
    pub(crate) language: String,
}

impl Default for ListenScript {
    fn default() -> Self {
        ListenScript::new()
    }
}

impl ListenScript {
    /// A session that hears no speech.
    pub fn new() -> Self {
        ListenScript {
            utterances: Vec::new(),
            word_ms: 250,
            faults: Vec::new(),
            inactivity_timeout: Some(DEFAULT_INACTIVITY_TIMEOUT),
            reject: None,
            silence_results: true,
            language: "en".into(),
        }
    }

    /// One utterance of `text`, starting after 300 ms of audio.
    pub fn transcript(text: &str) -> Self {
        ListenScript::new().utterance_at(300, text)
    }

    /// Adds an utterance starting once `start_ms` of audio arrived (utterances must be added
    /// in time order and must not overlap). Words are whitespace-separated; `word` is the
    /// lowercase token without punctuation, `punctuated_word` the token as written.
    pub fn utterance_at(mut self, start_ms: u64, text: &str) -> Self {
        self.utterances.push(Utterance::new(start_ms, self.word_ms, text));
        self
    }

    /// Audio per word for the utterances added after this call (default 250 ms).
    pub fn word_ms(mut self, ms: u64) -> Self {
        self.word_ms = ms.max(1);
        self
    }

    /// Close the socket with `code` and `reason` once `audio_ms` of audio arrived (0: right
    /// after the handshake). E.g. `1011` with Deepgram's NET-0001 text, or `1008` for
    /// undecodable audio.
    pub fn close_at(mut self, audio_ms: u64, code: u16, reason: &str) -> Self {
        let fault = Fault::Close { code, reason: reason.into() };
        self.faults.push((audio_ms as f64, fault));
        self
    }

    /// Drop the TCP connection without a close frame once `audio_ms` of audio arrived.
    pub fn drop_at(mut self, audio_ms: u64) -> Self {
        self.faults.push((audio_ms as f64, Fault::Drop));
        self
    }

    /// Close after this long without audio or text from the client (default 10 s, like
    /// Deepgram): `Metadata`, then close 1011 with the NET-0001 reason.
    pub fn inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.inactivity_timeout = Some(timeout);
        self
    }

    pub fn no_inactivity_timeout(mut self) -> Self {
        self.inactivity_timeout = None;
        self
    }

    /// No empty interim results during silence.
    pub fn no_silence_results(mut self) -> Self {
        self.silence_results = false;
        self
    }

    /// The language reported on words and alternatives when the session asked for
    /// `language=multi` or `detect_language=true` (default `"en"`).
    pub fn language(mut self, code: &str) -> Self {
        self.language = code.into();
        self
    }

    /// Refuse the WebSocket upgrade with `status` and Deepgram's body for it
    /// ([`super::error_body`]).
    pub fn reject(status: u16) -> Self {
        ListenScript::reject_with(status, super::error_body(status, "fake-request-id"))
    }

    /// Refuse the WebSocket upgrade with `status` and this exact body.
    pub fn reject_with(status: u16, body: impl Into<String>) -> Self {
        let mut script = ListenScript::new();
        script.reject = Some(Reply::json(status, body));
        script
    }
}

/// The Deepgram close reason for an idle socket, verbatim from a live capture.
pub const NET0001_REASON: &str = "Deepgram did not receive audio data or a text message within \
                                  the timeout window. See https://dpgr.am/net0001";
