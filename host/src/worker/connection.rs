//! The `/agent` WebSocket: connect with a worker token, carry protobuf frames both ways, keep
//! the link alive with the protocol's ping, and reconnect with capped, jittered exponential
//! backoff. It knows nothing about jobs: the worker feeds it messages tagged with the connection
//! they were meant for, and hears back what the server said.
//!
//! LiveKit's own workers retry every failure; this one retries every failure except a refused
//! handshake (HTTP 401/403), which no retry can fix and which an operator must see at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use super::WorkerError;
use crate::transport::livekit::LiveKitCredentials;

/// The worker token's lifetime: it is checked once, at the handshake, and minted per attempt.
const TOKEN_TTL: Duration = Duration::from_secs(10 * 60);

/// How the connection behaves; see [`super::WorkerConfig`] for the defaults.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub(crate) credentials: LiveKitCredentials,
    pub(crate) register_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) backoff: Backoff,
}

/// Reconnect delays: `initial` doubling per failed attempt up to `max`, each drawn uniformly
/// from its upper half so that workers cut off together do not return together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(500), max: Duration::from_secs(10) }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.initial.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(self.max);
        ceiling.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// What the connection tells the worker.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// A new socket is open; messages for it carry `generation`.
    Connected {
        generation: u64,
    },
    Message(Box<proto::ServerMessage>),
    /// The socket closed or an attempt failed; a retry follows.
    Disconnected {
        reason: String,
    },
    /// A failure no retry can fix; the connection task has ended.
    Fatal(WorkerError),
}

/// A message for the socket `generation`; dropped if that socket is gone, so nothing meant for
/// an old connection (before its registration) reaches a new one.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) generation: u64,
    pub(crate) message: proto::WorkerMessage,
}

/// Runs until `outgoing` closes (after writing what it holds and a close frame) or a fatal error.
pub(crate) async fn run(
    settings: ConnectionSettings,
    events: mpsc::Sender<ConnEvent>,
    mut outgoing: mpsc::Receiver<Outgoing>,
) {
    let url = match agent_url(settings.credentials.url()) {
        Ok(url) => url,
        Err(error) => {
            let _ = events.send(ConnEvent::Fatal(error)).await;
            return;
        }
    };
    let mut generation = 0u64;
    let mut attempt = 0u32;
    loop {
        let connecting = tokio::time::timeout(settings.connect_timeout, connect(&url, &settings.credentials));
        let reason = tokio::select! {
            connected = connecting => match connected {
                Ok(Ok(socket)) => {
                    attempt = 0;
                    generation += 1;
                    if events.send(ConnEvent::Connected { generation }).await.is_err() {
                        return;
                    }
                    match session(socket, generation, &settings, &events, &mut outgoing).await {
                        SessionEnd::Finished => return,
                        SessionEnd::Lost(reason) => reason,
                    }
                }
                Ok(Err(ConnectError::Fatal(error))) => {
                    let _ = events.send(ConnEvent::Fatal(error)).await;
                    return;
                }
                Ok(Err(ConnectError::Retry(reason))) => reason,
                Err(_) => format!("no WebSocket handshake with {url} within {:?}", settings.connect_timeout),
            },
            finished = drop_until_closed(&mut outgoing) => {
                let () = finished;
                return;
            }
        };
        tracing::warn!(%reason, "LiveKit connection lost; reconnecting");
        if events.send(ConnEvent::Disconnected { reason }).await.is_err() {
            return;
        }
        let delay = settings.backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = drop_until_closed(&mut outgoing) => return,
        }
    }
}

/// While no socket is open, messages for old sockets are dropped; returns when the worker
/// closes the channel (it is done).
async fn drop_until_closed(outgoing: &mut mpsc::Receiver<Outgoing>) {
    while outgoing.recv().await.is_some() {}
}

enum ConnectError {
    Retry(String),
    Fatal(WorkerError),
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, credentials: &LiveKitCredentials) -> Result<Socket, ConnectError> {
    let token = worker_token(credentials).map_err(ConnectError::Fatal)?;
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Fatal(WorkerError::InvalidUrl { url: url.to_string(), reason: e.to_string() }))?;
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| ConnectError::Fatal(WorkerError::Token("the token is not a valid header value".into())))?;
    request.headers_mut().insert(http::header::AUTHORIZATION, bearer);
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().trim().to_string();
            if matches!(status, 401 | 403) {
                Err(ConnectError::Fatal(WorkerError::Unauthorized { url: url.to_string(), status, message: body }))
            } else {
                Err(ConnectError::Retry(format!("LiveKit answered the handshake with HTTP {status}: {body}")))
            }
        }
        Err(error) => {
            Err(ConnectError::Retry(format!("cannot connect to {url}: {}", crate::error_text::chain(&error))))
        }
    }
}

/// A token that lets this worker register: `video.agent = true`, nothing else.
fn worker_token(credentials: &LiveKitCredentials) -> Result<String, WorkerError> {
    let grants = VideoGrants { agent: true, ..VideoGrants::default() };
    AccessToken::with_api_key(credentials.api_key(), credentials.api_secret())
        .with_grants(grants)
        .with_ttl(TOKEN_TTL)
        .to_jwt()
        .map_err(|e| WorkerError::Token(e.to_string()))
}

/// `{LIVEKIT_URL}/agent` on the WebSocket scheme (`https` → `wss`, `http` → `ws`).
pub(crate) fn agent_url(project_url: &str) -> Result<String, WorkerError> {
    let invalid = |reason: String| WorkerError::InvalidUrl { url: project_url.to_string(), reason };
    let mut url = url::Url::parse(project_url).map_err(|e| invalid(e.to_string()))?;
    let scheme = match url.scheme() {
        "https" | "wss" => "wss",
        "http" | "ws" => "ws",
        other => return Err(invalid(format!("unsupported scheme {other}"))),
    };
    url.set_scheme(scheme).map_err(|()| invalid("cannot switch to a WebSocket scheme".into()))?;
    let path = format!("{}/agent", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url.to_string())
}

enum SessionEnd {
    /// The worker closed the channel; the socket was closed cleanly.
    Finished,
    Lost(String),
}

async fn session(
    socket: Socket,
    generation: u64,
    settings: &ConnectionSettings,
    events: &mpsc::Sender<ConnEvent>,
    outgoing: &mut mpsc::Receiver<Outgoing>,
) -> SessionEnd {
    let (mut sink, mut stream) = socket.split();
    let register_deadline = Instant::now() + settings.register_timeout;
    let mut registered = false;
    let mut last_heard = Instant::now();
    let mut ping = tokio::time::interval_at(Instant::now() + settings.ping_interval, settings.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            frame = stream.next() => {
                let message = match frame {
                    None => return SessionEnd::Lost("LiveKit closed the connection".into()),
                    Some(Err(error)) => return SessionEnd::Lost(format!("reading from LiveKit: {error}")),
                    Some(Ok(Message::Binary(bytes))) => match proto::ServerMessage::decode(bytes) {
                        Ok(message) => message,
                        Err(error) => return SessionEnd::Lost(format!("LiveKit sent an unreadable message: {error}")),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map(|f| format!(" ({} {})", f.code, f.reason)).unwrap_or_default();
                        return SessionEnd::Lost(format!("LiveKit closed the connection{why}"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                        // Tungstenite answers pings itself.
                        last_heard = Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Text(text))) => {
                        tracing::warn!(len = text.len(), "ignoring a text frame from LiveKit");
                        continue;
                    }
                };
                last_heard = Instant::now();
                registered |= matches!(message.message, Some(proto::server_message::Message::Register(_)));
                if events.send(ConnEvent::Message(Box::new(message))).await.is_err() {
                    return SessionEnd::Finished;
                }
            }
            next = outgoing.recv() => match next {
                Some(Outgoing { generation: g, message }) if g == generation => {
                    if let Err(error) = sink.send(Message::Binary(message.encode_to_vec().into())).await {
                        return SessionEnd::Lost(format!("writing to LiveKit: {error}"));
                    }
                }
                Some(_) => {}
                None => {
                    let close = CloseFrame { code: CloseCode::Normal, reason: "worker shutting down".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    let _ = sink.close().await;
                    return SessionEnd::Finished;
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > settings.ping_interval + settings.ping_timeout {
                    return SessionEnd::Lost(format!(
                        "LiveKit did not answer pings for {:?}",
                        last_heard.elapsed()
                    ));
                }
                let ping = proto::WorkerMessage {
                    message: Some(proto::worker_message::Message::Ping(proto::WorkerPing { timestamp: now_millis() })),
                };
                if let Err(error) = sink.send(Message::Binary(ping.encode_to_vec().into())).await {
                    return SessionEnd::Lost(format!("writing to LiveKit: {error}"));
                }
            }
            () = tokio::time::sleep_until(register_deadline), if !registered => {
                return SessionEnd::Lost(format!(
                    "LiveKit did not confirm registration within {:?}",
                    settings.register_timeout
                ));
            }
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_url_uses_the_websocket_scheme_and_keeps_a_path() {
        for (given, expected) in [
            ("wss://x.livekit.cloud", "wss://x.livekit.cloud/agent"),
            ("https://x.livekit.cloud/", "wss://x.livekit.cloud/agent"),
            ("http://127.0.0.1:7880", "ws://127.0.0.1:7880/agent"),
            ("ws://lk.example.com/base/", "ws://lk.example.com/base/agent"),
        ] {
            assert_eq!(agent_url(given).unwrap(), expected);
        }
        assert!(matches!(agent_url("ftp://x"), Err(WorkerError::InvalidUrl { .. })));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap() {
        let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(2) };
        for _ in 0..50 {
            let first = backoff.delay(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let third = backoff.delay(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            let late = backoff.delay(40);
            assert!(late >= Duration::from_secs(1) && late <= Duration::from_secs(2), "{late:?}");
        }
    }
}
