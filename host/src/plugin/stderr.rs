//! A plugin's stderr goes to the host log, line by line, under the plugin's name.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line kept; a guest printing without newlines cannot grow host memory.
const MAX_LINE: usize = 4096;

#[derive(Clone)]
pub struct PluginStderr {
    plugin: std::sync::Arc<str>,
}

impl PluginStderr {
    pub fn new(plugin: &str) -> Self {
        Self { plugin: plugin.into() }
    }
}

impl IsTerminal for PluginStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginStderr {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineLogger { plugin: self.plugin.clone(), line: Vec::new() })
    }
}

struct LineLogger {
    plugin: std::sync::Arc<str>,
    line: Vec<u8>,
}

impl LineLogger {
    fn emit(&mut self) {
        if !self.line.is_empty() {
            let text = String::from_utf8_lossy(&self.line);
            // Escaped: a plugin must not forge host log lines or drive the operator's terminal.
            let text = super::untrusted::clean(text.trim_end());
            tracing::info!(target: "voiceblox::plugin::stderr", plugin = %self.plugin, "{text}");
            self.line.clear();
        }
    }
}

impl AsyncWrite for LineLogger {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        for &byte in buf {
            if byte == b'\n' || self.line.len() >= MAX_LINE {
                self.emit();
            }
            if byte != b'\n' {
                self.line.push(byte);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.emit();
        Poll::Ready(Ok(()))
    }
}
