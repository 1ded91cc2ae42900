//! Reading a recording back: the header checked first (format, version), then every line,
//! with the line number in any error.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::format::{Entry, FORMAT, Header, Line, VERSION};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a voiceblox recording (its first line has no `\"format\": \"{FORMAT}\"` header)")]
    NotARecording { path: PathBuf },
    #[error(
        "{path} is a format-{version} recording; this host reads versions 1 to {VERSION}: use a newer voiceblox-host"
    )]
    TooNew { path: PathBuf, version: u32 },
    #[error("{path}:{line}: {message}")]
    Line { path: PathBuf, line: usize, message: String },
}

/// A whole recording in memory.
#[derive(Debug, Clone)]
pub struct Recording {
    pub header: Header,
    pub lines: Vec<Line>,
}

impl Recording {
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let io = |source| ReadError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut lines = std::io::BufReader::new(file).lines();
        let first = lines.next().transpose().map_err(io)?.unwrap_or_default();
        let header: Header = match serde_json::from_str::<serde_json::Value>(&first) {
            Ok(value) if value.get("format").and_then(|f| f.as_str()) == Some(FORMAT) => {
                let version = value.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
                if version > u64::from(VERSION) {
                    return Err(ReadError::TooNew { path: path.to_path_buf(), version: version as u32 });
                }
                serde_json::from_value(value).map_err(|e| ReadError::Line {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!("unreadable header: {e}"),
                })?
            }
            _ => return Err(ReadError::NotARecording { path: path.to_path_buf() }),
        };
        let mut read = Vec::new();
        for (index, line) in lines.enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(&line).map_err(|e| ReadError::Line {
                path: path.to_path_buf(),
                line: index + 2,
                message: e.to_string(),
            })?;
            read.push(parsed);
        }
        Ok(Self { header, lines: read })
    }

    /// Whether the recording hit its size limit (a replay would stop short).
    pub fn is_truncated(&self) -> bool {
        self.lines.iter().any(|line| matches!(line.entry, Entry::Truncated { .. }))
    }

    /// The events the session published, as JSON.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.lines
            .iter()
            .filter_map(|line| match &line.entry {
                Entry::Event { event } => Some(event.clone()),
                _ => None,
            })
            .collect()
    }
}
