//! What every fake shares: the listening server, request recording and the shutdown signal.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use bytes::Bytes;
use tokio::sync::watch;

/// Larger than any provider's own upload limit (OpenAI caps audio files at 25 MB), so the fake
/// never refuses what the real service would take.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// One HTTP request as the fake received it (WebSocket upgrades included: their handshake is
/// recorded like any GET).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query exactly as sent, e.g. `/v1/listen?encoding=linear16&sample_rate=16000`.
    pub uri: String,
    /// Header names are lowercase; repeated headers appear once per value, in order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// When the request head arrived (latency measurements compare it with the client's clock).
    pub received_at: std::time::Instant,
}

impl RecordedRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.uri.split_once('?').map_or(&self.uri, |(path, _)| path)
    }

    /// The raw query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.split_once('?').map(|(_, query)| query)
    }

    /// Percent-decoded query pairs, repeated keys kept in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        decode_query(self.query().unwrap_or(""))
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find_map(|(key, value)| (key == name).then_some(value))
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The key a request presents as `Authorization: <scheme> <key>`, trimmed.
pub(crate) fn presented_key<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix(scheme)?.strip_prefix(' '))
        .map(str::trim)
}

pub(crate) fn decode_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

/// Locks ignoring poisoning: a test that panicked while holding a fake's lock has already
/// failed, and the fake must keep answering the other tests' assertions.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<RecordedRequest>>>);

impl Recorder {
    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        lock(&self.0).clone()
    }
}

async fn record(State(recorder): State<Recorder>, request: Request, next: Next) -> Response {
    let received_at = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    lock(&recorder.0).push(RecordedRequest {
        method: parts.method.to_string(),
        uri: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        headers,
        body: body.clone(),
        received_at,
    });
    // The upgrade handle lives in `parts.extensions`, so WebSocket handshakes survive the
    // re-assembly.
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Fires once, when the fake's handle is dropped. Streaming bodies and WebSocket sessions wait
/// on it so that a dropped fake cuts them instead of leaving them hanging.
#[derive(Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub(crate) async fn signalled(&mut self) {
        // A dropped sender means the fake is gone: that is a shutdown too.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    /// Waits `delay`, unless the fake is dropped first.
    pub(crate) async fn sleep(&self, delay: Duration) {
        if delay.is_zero() {
            return;
        }
        let mut shutdown = self.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.signalled() => {}
        }
    }
}

/// Starts a fake: `state` builds the state its handlers share from the shutdown signal (streams
/// and sessions wait on it), and `router` is served with that state on `127.0.0.1:0`.
///
/// # Panics
/// Outside a tokio runtime, or if the loopback interface cannot be bound.
pub(crate) fn start<S>(router: Router<Arc<S>>, state: impl FnOnce(Shutdown) -> S) -> (FakeServer, Arc<S>)
where
    S: Send + Sync + 'static,
{
    let prepared = prepare();
    let state = Arc::new(state(prepared.shutdown.clone()));
    (prepared.serve(router.with_state(state.clone())), state)
}

/// A fake before its router is built: the router's handlers need the shutdown signal.
struct Prepared {
    recorder: Recorder,
    shutdown: Shutdown,
    stop: watch::Sender<bool>,
}

fn prepare() -> Prepared {
    let (stop, stopped) = watch::channel(false);
    Prepared { recorder: Recorder::default(), shutdown: Shutdown(stopped), stop }
}

impl Prepared {
    /// Binds `127.0.0.1:0` and serves `router` on the current tokio runtime.
    fn serve(self, router: Router) -> FakeServer {
        let listener = StdTcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        listener.set_nonblocking(true).expect("making the listener non-blocking");
        let addr = listener.local_addr().expect("reading the bound address");
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("fakes must be started inside a tokio runtime")
            // Streams are written a chunk at a time; Nagle would hold small chunks back and
            // blur the timing tests rely on.
            .tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
        let router = router
            .layer(middleware::from_fn_with_state(self.recorder.clone(), record))
            .layer(DefaultBodyLimit::max(BODY_LIMIT));
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let served =
                axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.signalled().await }).await;
            if let Err(error) = served {
                tracing::warn!(%error, "fake server stopped with an error");
            }
        });
        FakeServer { addr, recorder: self.recorder, stop: self.stop }
    }
}

/// A running fake. Dropping it stops the server and cuts every open stream.
pub(crate) struct FakeServer {
    addr: SocketAddr,
    recorder: Recorder,
    stop: watch::Sender<bool>,
}

impl FakeServer {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn http_origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn ws_origin(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.recorder.all()
    }

    /// Requests whose path (query excluded) is `path`.
    pub(crate) fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|request| request.path() == path);
        requests
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
