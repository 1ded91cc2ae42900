//! Byte-level building blocks shared by the fakes: key-ordered JSON, streamed bodies, scripted
//! error replies and script queues.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::mpsc;

use super::server::{Shutdown, lock};

/// A JSON object written in insertion order.
///
/// Providers emit their keys in a fixed order and `serde_json`'s default map sorts them;
/// enabling `preserve_order` would change map behaviour for every crate in the workspace, so
/// the fakes write their objects field by field instead.
pub(crate) struct Obj(String);

impl Obj {
    pub(crate) fn new() -> Self {
        Obj(String::from("{"))
    }

    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&json_string(key));
        self.0.push(':');
    }

    /// A value that is already JSON text.
    pub(crate) fn raw(mut self, key: &str, json: impl AsRef<str>) -> Self {
        self.key(key);
        self.0.push_str(json.as_ref());
        self
    }

    pub(crate) fn str(self, key: &str, value: &str) -> Self {
        self.raw(key, json_string(value))
    }

    pub(crate) fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    pub(crate) fn int(self, key: &str, value: impl Into<i64>) -> Self {
        self.raw(key, value.into().to_string())
    }

    pub(crate) fn float(self, key: &str, value: f64) -> Self {
        self.raw(key, json_float(value))
    }

    pub(crate) fn bool(self, key: &str, value: bool) -> Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    pub(crate) fn null(self, key: &str) -> Self {
        self.raw(key, "null")
    }

    pub(crate) fn obj(self, key: &str, value: Obj) -> Self {
        self.raw(key, value.finish())
    }

    pub(crate) fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// A JSON array of already-encoded elements.
pub(crate) fn array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

pub(crate) fn json_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// Floats the way the providers print them: shortest round-trip form, `0.0` not `0`.
pub(crate) fn json_float(value: f64) -> String {
    if value.is_finite() { serde_json::Value::from(value).to_string() } else { "null".into() }
}

/// One step of a streamed response body.
#[derive(Clone, Debug)]
pub(crate) enum Piece {
    Data(Bytes),
    Delay(Duration),
    /// Stay open, sending nothing, until the client goes away or the fake is dropped.
    Hang,
    /// Abort the connection mid-body: no terminating chunk, so the client sees a broken stream.
    Cut,
}

/// A response body that is written piece by piece with HTTP/1.1 chunked transfer: every `Data`
/// piece becomes one chunk on the wire.
pub(crate) fn streamed_body(pieces: Vec<Piece>, mut shutdown: Shutdown) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let cut = || Err(std::io::Error::other("fake cut the stream"));
        for piece in pieces {
            match piece {
                Piece::Data(bytes) => {
                    if tx.send(Ok(bytes)).await.is_err() {
                        return; // the client went away
                    }
                }
                Piece::Delay(delay) => {
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = shutdown.signalled() => {
                            let _ = tx.send(cut()).await;
                            return;
                        }
                    }
                }
                Piece::Hang => {
                    tokio::select! {
                        () = tx.closed() => {}
                        () = shutdown.signalled() => { let _ = tx.send(cut()).await; }
                    }
                    return;
                }
                Piece::Cut => {
                    let _ = tx.send(cut()).await;
                    return;
                }
            }
        }
    });
    Body::from_stream(stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}

/// Interleaves `delay` between data pieces (none before the first, none after the last).
pub(crate) fn paced(data: Vec<Bytes>, delay: Duration) -> Vec<Piece> {
    let mut pieces = Vec::with_capacity(data.len() * 2);
    for (i, bytes) in data.into_iter().enumerate() {
        if i > 0 && !delay.is_zero() {
            pieces.push(Piece::Delay(delay));
        }
        pieces.push(Piece::Data(bytes));
    }
    pieces
}

/// Splits `bytes` into chunks of `size`, so the boundaries land wherever `size` puts them
/// (an odd size puts them mid-sample on purpose).
pub(crate) fn chunked(bytes: &[u8], size: usize) -> Vec<Bytes> {
    bytes.chunks(size.max(1)).map(Bytes::copy_from_slice).collect()
}

/// A scripted non-success answer: status, body and extra headers.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Reply { status, body: body.into(), headers: vec![("content-type".into(), "application/json".into())] }
    }

    /// Sets a header, replacing any earlier value of the same name.
    pub(crate) fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value));
    }

    pub(crate) fn into_response(self, extra_headers: &[(String, String)]) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in extra_headers.iter().chain(&self.headers) {
            insert_header(&mut response, name, value);
        }
        response
    }
}

pub(crate) fn insert_header(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        response.headers_mut().insert(name, value);
    }
}

/// Per-endpoint script queue: the n-th request gets the n-th script, the last one repeats.
pub(crate) struct Queue<T> {
    items: Vec<T>,
    next: Mutex<usize>,
}

impl<T: Clone> Queue<T> {
    pub(crate) fn new(items: Vec<T>) -> Self {
        Queue { items, next: Mutex::new(0) }
    }

    /// The script for the next request, `None` when none were queued.
    pub(crate) fn next(&self) -> Option<T> {
        let mut next = lock(&self.next);
        let index = (*next).min(self.items.len().checked_sub(1)?);
        *next += 1;
        self.items.get(index).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_insertion_order_and_escape() {
        let json = Obj::new()
            .str("z", "a\"b")
            .int("a", 3)
            .float("f", 0.0)
            .null("n")
            .obj("o", Obj::new().bool("t", true))
            .raw("l", array(["1".to_string(), "2".to_string()]))
            .finish();
        assert_eq!(json, r#"{"z":"a\"b","a":3,"f":0.0,"n":null,"o":{"t":true},"l":[1,2]}"#);
    }

    #[test]
    fn queue_repeats_the_last_script() {
        let queue = Queue::new(vec![1, 2]);
        assert_eq!([queue.next(), queue.next(), queue.next()], [Some(1), Some(2), Some(2)]);
        assert_eq!(Queue::<u8>::new(vec![]).next(), None);
    }
}
