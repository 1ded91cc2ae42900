//! A hostile server: what a plugin author who points a stream at their own endpoint gets back.
//! `GET /reflect` reflects the request (its `authorization` header in a response header and in
//! the body, the URI and the body), the body cut into 3-byte chunks so a key straddles them;
//! `GET /hang` never answers; `/ws` echoes every WebSocket text frame and notes how the socket
//! ended.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use super::server::{self, FakeServer, Shutdown, lock};

pub struct Reflector {
    server: FakeServer,
    state: Arc<Frames>,
}

struct Frames {
    shutdown: Shutdown,
    /// WebSocket text frames received, in order.
    received: Mutex<Vec<String>>,
    /// How each WebSocket ended: the close frame's code and reason (none: a frame without a
    /// status), or the connection dropped without one.
    endings: Mutex<Vec<WsEnding>>,
}

/// How a client left a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEnding {
    Closed(Option<(u16, String)>),
    Dropped,
}

impl Reflector {
    pub fn start() -> Self {
        let router = Router::new().route("/reflect", any(reflect)).route("/hang", any(hang)).route("/ws", get(echo));
        let (server, state) = server::start(router, |shutdown| Frames {
            shutdown,
            received: Mutex::new(Vec::new()),
            endings: Mutex::new(Vec::new()),
        });
        Self { server, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// Every HTTP request (WebSocket handshakes included) as it arrived, key and all.
    pub fn requests(&self) -> Vec<super::RecordedRequest> {
        self.server.requests()
    }

    /// The WebSocket text frames received, as they arrived.
    pub fn frames(&self) -> Vec<String> {
        lock(&self.state.received).clone()
    }

    /// How the WebSockets that ended so far ended, in order.
    pub fn endings(&self) -> Vec<WsEnding> {
        lock(&self.state.endings).clone()
    }
}

async fn reflect(request: Request) -> Response {
    let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let uri = request.uri().to_string();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
    let text = format!("auth={auth} uri={uri} body={}", String::from_utf8_lossy(&body));
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        text.into_bytes().chunks(3).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    ([("x-reflected-auth", auth)], Body::from_stream(futures_util::stream::iter(chunks))).into_response()
}

async fn hang(State(state): State<Arc<Frames>>) -> &'static str {
    let mut shutdown = state.shutdown.clone();
    tokio::select! {
        _ = shutdown.signalled() => {}
        _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
    }
    "late"
}

async fn echo(State(state): State<Arc<Frames>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |mut socket| async move {
        let ending = loop {
            match socket.recv().await {
                Some(Ok(Message::Text(text))) => {
                    lock(&state.received).push(text.to_string());
                    if socket.send(Message::Text(text)).await.is_err() {
                        break WsEnding::Dropped;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break WsEnding::Closed(frame.map(|f| (f.code, f.reason.to_string())));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break WsEnding::Dropped,
            }
        };
        lock(&state.endings).push(ending);
    })
}
