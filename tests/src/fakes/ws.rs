//! What every WebSocket fake's session does with its socket, recorded as it happens: wait for the
//! client's next frame (or a deadline, or the fake's shutdown), send text messages, close or drop
//! the connection, and finish the close handshake.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use tokio::time::Instant;

use super::server::Shutdown;
use super::sessions::SessionEntry;

/// How long the fake waits for the client's reply to its close frame.
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(1);

/// The fields of a session's public record that the socket keeps up to date.
pub(crate) trait SocketRecord {
    /// Every message the fake sent, verbatim, in order.
    fn sent(&mut self) -> &mut Vec<String>;
    /// The client's close frame, when it sent one.
    fn client_close(&mut self) -> &mut Option<(u16, String)>;
    /// The session is over (either side ended it).
    fn ended(&mut self) -> &mut bool;
    /// The fake's close frame; `None` for a record without the field (its fake never closes
    /// first).
    fn server_close(&mut self) -> Option<&mut Option<(u16, String)>> {
        None
    }
    /// The fake dropped the connection on purpose; `None` for a record without the field (its
    /// fake never drops one).
    fn dropped(&mut self) -> Option<&mut bool> {
        None
    }
}

/// Implements [`SocketRecord`] for a session record with public fields `sent`, `client_close`
/// and `ended`, plus those named after it (`server_close`, `dropped`).
macro_rules! socket_record {
    ($record:ty $(, $optional:ident)* $(,)?) => {
        impl $crate::fakes::ws::SocketRecord for $record {
            fn sent(&mut self) -> &mut Vec<String> {
                &mut self.sent
            }

            fn client_close(&mut self) -> &mut Option<(u16, String)> {
                &mut self.client_close
            }

            fn ended(&mut self) -> &mut bool {
                &mut self.ended
            }

            $( $crate::fakes::ws::socket_record!(@$optional); )*
        }
    };
    (@server_close) => {
        fn server_close(&mut self) -> Option<&mut Option<(u16, String)>> {
            Some(&mut self.server_close)
        }
    };
    (@dropped) => {
        fn dropped(&mut self) -> Option<&mut bool> {
            Some(&mut self.dropped)
        }
    };
}

pub(crate) use socket_record;

/// One step of a session's output, sent in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Out {
    Text(String),
    Close {
        code: u16,
        reason: String,
    },
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// What the session hears next.
pub(crate) enum Incoming {
    Text(Utf8Bytes),
    Binary(Bytes),
    /// A ping or pong (axum answers pings itself).
    Control,
    /// The deadline passed first.
    Deadline,
}

/// An upgraded socket and the record of its session.
pub(crate) struct Socket<T> {
    ws: WebSocket,
    entry: SessionEntry<T>,
    shutdown: Shutdown,
}

impl<T: SocketRecord> Socket<T> {
    pub(crate) fn new(ws: WebSocket, entry: SessionEntry<T>, shutdown: Shutdown) -> Self {
        Socket { ws, entry, shutdown }
    }

    /// Updates the session's record.
    pub(crate) fn record(&self, update: impl FnOnce(&mut T)) {
        self.entry.update(update);
    }

    /// The client's next frame, or [`Incoming::Deadline`] if `deadline` comes first. `None` once
    /// the session is over: the fake was dropped, the client went away, or it closed (its close
    /// frame recorded and the close handshake finished).
    pub(crate) async fn next(&mut self, deadline: Option<Instant>) -> Option<Incoming> {
        let deadline = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        let message = tokio::select! {
            () = self.shutdown.signalled() => None,
            () = deadline => return Some(Incoming::Deadline),
            message = self.ws.recv() => message,
        };
        // `None`: the fake was dropped, or the client went away without a close frame.
        let Some(Ok(message)) = message else {
            self.record(|s| *s.ended() = true);
            return None;
        };
        match message {
            Message::Text(text) => Some(Incoming::Text(text)),
            Message::Binary(bytes) => Some(Incoming::Binary(bytes)),
            Message::Ping(_) | Message::Pong(_) => Some(Incoming::Control),
            Message::Close(frame) => {
                let frame = frame.map(|f| (f.code, f.reason.as_str().to_owned()));
                self.record(|s| {
                    *s.client_close() = frame;
                    *s.ended() = true;
                });
                // axum answers the close frame itself; draining lets that reply go out.
                self.drain().await;
                None
            }
        }
    }

    /// Sends a text message; false once the session is over.
    pub(crate) async fn send_text(&mut self, text: String) -> bool {
        self.record(|s| s.sent().push(text.clone()));
        if self.ws.send(Message::Text(text.into())).await.is_err() {
            self.record(|s| *s.ended() = true);
            return false;
        }
        true
    }

    /// Closes the session with `code` and `reason` and waits for the client's reply.
    pub(crate) async fn close(&mut self, code: u16, reason: String) {
        // Recorded before sending, so a client that saw the close sees the record.
        self.record(|s| {
            if let Some(server_close) = s.server_close() {
                *server_close = Some((code, reason.clone()));
            }
            *s.ended() = true;
        });
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = self.ws.send(Message::Close(Some(frame))).await;
        self.drain().await;
    }

    /// Sends `outputs` in order; false once the session is over.
    pub(crate) async fn emit(&mut self, outputs: Vec<Out>) -> bool {
        for output in outputs {
            match output {
                Out::Text(text) => {
                    if !self.send_text(text).await {
                        return false;
                    }
                }
                Out::Close { code, reason } => {
                    self.close(code, reason).await;
                    return false;
                }
                Out::Drop => {
                    // Dropping the socket (the caller returns) closes the TCP stream, no close frame.
                    self.record(|s| {
                        if let Some(dropped) = s.dropped() {
                            *dropped = true;
                        }
                        *s.ended() = true;
                    });
                    return false;
                }
            }
        }
        true
    }

    /// Reads until the peer finishes the close handshake (or a short wait runs out).
    async fn drain(&mut self) {
        let ws = &mut self.ws;
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, async { while let Some(Ok(_)) = ws.recv().await {} }).await;
    }
}
