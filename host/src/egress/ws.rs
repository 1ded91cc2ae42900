//! WebSocket connections through the egress: resolved and vetted like HTTP, and the key
//! filled into the first text frame when the caller wrote `{{api-key}}` there.

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

use std::collections::VecDeque;
use std::time::Duration;

use super::Egress;
use super::policy::PolicyError;
use super::request::Authorized;
use super::resolver::{ResolveError, resolve_vetted};
use super::secret::{Secret, placement};
use super::tap::{self, Tap};
use crate::error_text::chain;
use crate::record::Recorder;
use crate::record::format::{Entry, WsData};
use crate::record::{Responder, WsStep};

/// Largest message accepted from a server.
const MAX_MESSAGE: usize = 16 << 20;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Why a WebSocket did not open. Messages may quote the server; the caller scrubs them.
#[derive(Debug)]
pub enum WsConnectError {
    Denied(PolicyError),
    /// Not reachable: no address, refused, reset, TLS.
    Unavailable(String),
    /// The server answered the upgrade with an HTTP status.
    Refused {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// The request is not a valid WebSocket request.
    Invalid(String),
}

/// An open WebSocket: live, or answered from a recording.
pub struct WsSocket {
    inner: Inner,
    secret: Option<Secret>,
    first_text: bool,
    /// The recording this connection's frames go to, and its exchange id.
    recording: Option<(Recorder, u32)>,
}

enum Inner {
    Live(Box<Socket>),
    Replay(ReplayWs),
}

/// The server's side of a replayed connection: the recorded messages at their delays, and
/// what a scripted server answers to what the session sends.
pub(super) struct ReplayWs {
    pub(super) started: tokio::time::Instant,
    pub(super) steps: VecDeque<WsStep>,
    pub(super) responder: Option<Responder>,
}

impl ReplayWs {
    /// A sent message reaches the scripted server, whose answers are queued after what is due.
    fn sent(&mut self, message: &Message) {
        let Some(Responder(responder)) = &self.responder else { return };
        let answers = responder.lock().unwrap_or_else(std::sync::PoisonError::into_inner).sent(message);
        let now = self.started.elapsed();
        let last = self.steps.back().map_or(Duration::ZERO, step_time);
        for step in answers {
            let at = (now + step_time(&step)).max(last);
            self.steps.push_back(match step {
                WsStep::Message(_, data) => WsStep::Message(at, data),
                WsStep::Failed(_, message) => WsStep::Failed(at, message),
                WsStep::End(_) => WsStep::End(at),
            });
        }
    }

    /// Cancel-safe: a step leaves the queue only once it is due and delivered.
    async fn next(&mut self) -> Option<Result<Message, tungstenite::Error>> {
        let Some(step) = self.steps.front() else {
            // The recording ended with the connection open: it stays open.
            return std::future::pending().await;
        };
        tokio::time::sleep_until(self.started + step_time(step)).await;
        match self.steps.pop_front()? {
            WsStep::Message(_, data) => Some(Ok(message_of(data))),
            WsStep::Failed(_, message) => Some(Err(tungstenite::Error::Io(std::io::Error::other(message)))),
            WsStep::End(_) => {
                // Ended for good: every later read ends too.
                self.steps.push_front(WsStep::End(Duration::ZERO));
                None
            }
        }
    }
}

fn step_time(step: &WsStep) -> Duration {
    match step {
        WsStep::Message(after, _) | WsStep::Failed(after, _) | WsStep::End(after) => *after,
    }
}

fn message_of(data: WsData) -> Message {
    match data {
        WsData::Text { text } => Message::Text(text.into()),
        WsData::Binary { data } => Message::Binary(data.bytes().unwrap_or_default().into()),
        // Never received; a recording edited to say so reads as an empty message.
        WsData::BinarySent { .. } => Message::Binary(Vec::new().into()),
        WsData::Close { code, reason } => {
            Message::Close(code.map(|code| CloseFrame { code: code.into(), reason: reason.into() }))
        }
    }
}

impl WsSocket {
    pub async fn next(&mut self) -> Option<Result<Message, tungstenite::Error>> {
        match &mut self.inner {
            Inner::Live(socket) => {
                let item = socket.next().await;
                if let Some((recorder, id)) = &self.recording {
                    tap::record_ws_incoming(recorder, *id, item.as_ref(), self.secret.as_ref());
                }
                item
            }
            Inner::Replay(replay) => replay.next().await,
        }
    }

    /// Sends a message; the connection's first text frame gets the key filled in.
    pub async fn send(&mut self, message: Message) -> Result<(), tungstenite::Error> {
        if let Some((recorder, id)) = &self.recording
            && let Some(message) = tap::ws_sent(&message)
        {
            recorder.write(Entry::WsSend { id: *id, message });
        }
        let socket = match &mut self.inner {
            Inner::Live(socket) => socket,
            Inner::Replay(replay) => {
                replay.sent(&message);
                return Ok(());
            }
        };
        let message = match message {
            Message::Text(text) => {
                let first = std::mem::take(&mut self.first_text);
                Message::Text(placement::fill_ws_text(self.secret.as_ref(), text.to_string(), first).into())
            }
            other => other,
        };
        socket.send(message).await
    }

    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), tungstenite::Error> {
        if let Some((recorder, id)) = &self.recording {
            let message = WsData::Close {
                code: frame.as_ref().map(|f| u16::from(f.code)),
                reason: frame.as_ref().map(|f| f.reason.to_string()).unwrap_or_default(),
            };
            recorder.write(Entry::WsSend { id: *id, message });
        }
        match &mut self.inner {
            Inner::Live(socket) => Socket::close(socket, frame).await,
            Inner::Replay(_) => Ok(()),
        }
    }
}

impl Egress {
    /// Opens an authorized WebSocket (`ws`/`wss` URL, `GET`).
    pub async fn connect(&self, request: Authorized) -> Result<WsSocket, WsConnectError> {
        match &self.tap {
            None => self.connect_live(request).await,
            Some(Tap::Record(recorder)) => {
                let id = tap::record_ws_open(recorder, &request);
                let result = self.connect_live(request).await;
                tap::record_ws_opened(recorder, id, &result.as_ref().map(|_| ()));
                result.map(|socket| WsSocket { recording: Some((recorder.clone(), id)), ..socket })
            }
            Some(Tap::Replay(answers)) => {
                let replay = tap::replay_ws_open(answers.as_ref(), &request).await?;
                Ok(WsSocket { inner: Inner::Replay(replay), secret: None, first_text: true, recording: None })
            }
        }
    }

    async fn connect_live(&self, request: Authorized) -> Result<WsSocket, WsConnectError> {
        let Authorized { url, headers, target, secret, .. } = request;
        let mut handshake = url.as_str().into_client_request().map_err(|e| WsConnectError::Invalid(e.to_string()))?;
        handshake.headers_mut().extend(headers);
        let addrs = resolve_vetted(self.policy(), &target).await.map_err(|error| match error {
            ResolveError::Denied(source) => WsConnectError::Denied(source),
            ResolveError::Unresolved(message) => WsConnectError::Unavailable(message),
        })?;
        let tcp = TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| WsConnectError::Unavailable(format!("could not connect to {}: {e}", target.host)))?;
        let _ = tcp.set_nodelay(true);
        let config = tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE));
        match tokio_tungstenite::client_async_tls_with_config(handshake, tcp, Some(config), None).await {
            Ok((socket, _response)) => {
                Ok(WsSocket { inner: Inner::Live(Box::new(socket)), secret, first_text: true, recording: None })
            }
            Err(tungstenite::Error::Http(response)) => Err(WsConnectError::Refused {
                status: response.status().as_u16(),
                retry_after: response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(String::from),
                body: response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned(),
            }),
            Err(error) => Err(WsConnectError::Unavailable(format!("WebSocket handshake: {}", chain(&error)))),
        }
    }
}
