//! [`Recorder`]: one session's recording, written as it happens so a crash keeps everything
//! up to the crash. Writes never fail the session: an unwritable file is logged once and the
//! session goes on unrecorded.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::format::{Data, Entry, Header, Line};
use crate::audio::{AudioFrame, StreamResampler, VAD_SAMPLE_RATE, resample_stream};
use crate::events::{AgentEvent, EventSink};

/// The default size limit of one recording: about 25 minutes of a voice call.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// Where and how big recordings are (the operator's `--record DIR`).
#[derive(Debug, Clone)]
pub struct RecordSettings {
    pub dir: PathBuf,
    pub max_bytes: u64,
    /// Only sessions that ask are recorded (`"record": true` in the AgentConfig, or in the
    /// server request, which puts it there).
    pub on_request: bool,
}

impl RecordSettings {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), max_bytes: DEFAULT_MAX_BYTES, on_request: false }
    }

    /// The settings a session runs with: recorded when every session is, or when it asked.
    pub fn for_session(settings: Option<&Self>, asked: bool) -> Option<&Self> {
        settings.filter(|s| asked || !s.on_request)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("creating the recording {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
}

/// A session's recording. Cheap to clone; the file is complete once the last clone is
/// dropped (or [`Recorder::finish`] ran).
#[derive(Clone)]
pub struct Recorder(Arc<Inner>);

struct Inner {
    path: PathBuf,
    /// The session clock's zero: the voice loop's start ([`Recorder::mark_start`]).
    start: Mutex<tokio::time::Instant>,
    ids: AtomicU32,
    out: Mutex<Output>,
    /// The microphone, brought to the rate the voice loop hears at.
    mic: Mutex<Option<StreamResampler>>,
}

struct Output {
    writer: Option<BufWriter<File>>,
    written: u64,
    limit: u64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("path", &self.0.path).finish()
    }
}

impl Recorder {
    /// Starts a recording in `settings.dir` (created if missing), named after the time and a
    /// random suffix; the session clock's zero is now.
    pub fn create(settings: &RecordSettings, header: &Header) -> Result<Self, RecordError> {
        let stamp = header.started.replace([':', '-'], "").replace('.', "_");
        let suffix: u32 = rand::random();
        let path = settings.dir.join(format!("session-{stamp}-{suffix:08x}.rec.jsonl"));
        let create = || -> std::io::Result<BufWriter<File>> {
            std::fs::create_dir_all(&settings.dir)?;
            let mut writer = BufWriter::new(File::create(&path)?);
            serde_json::to_writer(&mut writer, header)?;
            writer.write_all(b"\n")?;
            Ok(writer)
        };
        let writer = create().map_err(|source| RecordError::Create { path: path.clone(), source })?;
        tracing::info!(path = %path.display(), "recording the session");
        Ok(Self(Arc::new(Inner {
            path,
            start: Mutex::new(tokio::time::Instant::now()),
            ids: AtomicU32::new(0),
            out: Mutex::new(Output { writer: Some(writer), written: 0, limit: settings.max_bytes }),
            mic: Mutex::new(None),
        })))
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// A fresh exchange id (an HTTP request, a WebSocket connection).
    pub fn next_id(&self) -> u32 {
        self.0.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Sets the session clock's zero to now: where the voice loop starts, so a replay (whose
    /// loop starts at its zero) runs the loop's 20 ms grid in the same phase. What was written
    /// before (tool set-up) keeps its times; only the exchanges' own delays matter for those.
    pub fn mark_start(&self) {
        *self.0.start.lock().unwrap_or_else(PoisonError::into_inner) = tokio::time::Instant::now();
    }

    pub fn write(&self, entry: Entry) {
        let start = *self.0.start.lock().unwrap_or_else(PoisonError::into_inner);
        let at_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut out = self.0.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write(&Line { at_us, entry }, &self.0.path);
    }

    /// The user's microphone frame, as the voice loop hears it (mono, 16 kHz).
    pub fn mic(&self, frame: &AudioFrame) {
        let mut resampler = self.0.mic.lock().unwrap_or_else(PoisonError::into_inner);
        // The same conversion as the voice loop's (mono, then one resampler for the stream), so
        // a replay fed these frames hears exactly what the session heard.
        let mono = (frame.channels() > 1).then(|| frame.to_mono());
        let mono = mono.as_ref().unwrap_or(frame);
        let Some(heard) = resample_stream(&mut resampler, mono, VAD_SAMPLE_RATE, "recorded audio") else { return };
        drop(resampler);
        if !heard.is_empty() {
            self.write(Entry::Mic { pcm: Data::binary(&heard.to_le_bytes()) });
        }
    }

    /// The end of the session; nothing is written after it.
    pub fn finish(&self, reason: &str) {
        self.write(Entry::End { reason: reason.to_string() });
        let mut out = self.0.out.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut writer) = out.writer.take()
            && let Err(error) = writer.flush()
        {
            tracing::warn!(%error, path = %self.0.path.display(), "finishing the recording");
        }
    }
}

impl Output {
    fn write(&mut self, line: &Line, path: &Path) {
        let Some(writer) = &mut self.writer else { return };
        let mut json = match serde_json::to_vec(line) {
            Ok(json) => json,
            Err(error) => {
                tracing::warn!(%error, "a recording line could not be encoded; skipped");
                return;
            }
        };
        json.push(b'\n');
        let size = json.len() as u64;
        let result = if self.written + size > self.limit {
            let truncated = Line { at_us: line.at_us, entry: Entry::Truncated { limit_bytes: self.limit } };
            tracing::warn!(path = %path.display(), limit = self.limit, "recording size limit reached; the rest is not recorded");
            let result = serde_json::to_writer(&mut *writer, &truncated)
                .map_err(std::io::Error::from)
                .and_then(|()| writer.write_all(b"\n"))
                .and_then(|()| writer.flush());
            self.writer = None;
            result
        } else {
            self.written += size;
            writer.write_all(&json)
        };
        if let Err(error) = result {
            tracing::warn!(%error, path = %path.display(), "writing the recording failed; the session goes on unrecorded");
            self.writer = None;
        }
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: AgentEvent) {
        match serde_json::to_value(&event) {
            Ok(event) => self.write(Entry::Event { event }),
            Err(error) => tracing::warn!(%error, "an event could not be recorded"),
        }
    }
}
