//! [`ReplayTraffic`]: a recording's provider, webhook and tool traffic, served back to a
//! replayed session. Each request takes the first unused recorded exchange with the same
//! method, URL and body, or failing that the first with the same method and URL, so a plugin
//! build that asks in the same order gets the same answers (and requests that race, like an
//! MCP client's, get their own), and one that asks differently gets a clear "not in the
//! recording" where it departs.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use super::format::{Entry, FailureKind, Line, WsData};

/// A request a replayed egress is asked to answer, as its writer wrote it.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub method: &'a str,
    /// The URL without the key.
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Where a replayed egress gets its answers: a recording's traffic, or a flow test's script.
pub trait Answers: Send + Sync {
    /// The answer to an HTTP request; `None`: there is none (the request fails).
    fn http(&self, asked: Asked<'_>) -> Option<HttpExchange>;
    /// The answer to a WebSocket connection; `None`: there is none (it does not open).
    fn ws(&self, asked: Asked<'_>) -> Option<WsExchange>;
}

/// A recorded HTTP exchange, times relative to its request.
#[derive(Debug, Clone)]
pub struct HttpExchange {
    pub head: HttpHead,
    pub body: Vec<BodyStep>,
}

/// The response head, or why there was none.
#[derive(Debug, Clone)]
pub enum HttpHead {
    /// The session ended still waiting for it.
    Pending,
    Answered {
        after: Duration,
        status: u16,
        headers: Vec<(String, String)>,
    },
    Failed {
        after: Duration,
        failure: FailureKind,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub enum BodyStep {
    Chunk(Duration, Bytes),
    Failed(Duration, String),
    End(Duration),
}

/// A recorded WebSocket connection, times relative to its opening request.
#[derive(Debug, Clone)]
pub struct WsExchange {
    pub open: WsOpen,
    pub incoming: Vec<WsStep>,
    /// A scripted server that also answers what the session sends (a flow test's STT); a
    /// recording has none.
    pub responder: Option<Responder>,
}

/// A scripted WebSocket server's reactions to what the session sends.
pub trait WsResponder: Send {
    /// What the server sends after `message`, each step's time counted from now.
    fn sent(&mut self, message: &tokio_tungstenite::tungstenite::Message) -> Vec<WsStep>;
}

/// A [`WsResponder`], shared with the connection it answers.
#[derive(Clone)]
pub struct Responder(pub std::sync::Arc<Mutex<dyn WsResponder>>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

#[derive(Debug, Clone)]
pub enum WsOpen {
    /// The session ended before the connection opened or failed.
    Pending,
    Opened(Duration),
    Refused {
        after: Duration,
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    Failed {
        after: Duration,
        failure: FailureKind,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub enum WsStep {
    Message(Duration, WsData),
    Failed(Duration, String),
    End(Duration),
}

#[derive(Debug)]
enum Recorded {
    Http { method: String, url: String, body: Vec<u8>, exchange: HttpExchange },
    Ws { url: String, exchange: WsExchange },
}

#[derive(Debug)]
struct Slot {
    recorded: Recorded,
    used: bool,
}

/// The traffic of one recording, handed out once each.
#[derive(Debug, Default)]
pub struct ReplayTraffic {
    slots: Mutex<Vec<Slot>>,
    /// Requests the recording had no answer for, in order.
    unmatched: Mutex<Vec<String>>,
    /// Every HTTP request the replayed session made: URL and body.
    requests: Mutex<Vec<(String, Vec<u8>)>>,
}

impl ReplayTraffic {
    /// Gathers the exchanges of `lines` by id, in the order their requests were made.
    pub fn new(lines: &[Line]) -> Self {
        let mut started: BTreeMap<u32, (u64, Recorded)> = BTreeMap::new();
        let since = |started: &BTreeMap<u32, (u64, Recorded)>, id: u32, at: u64| {
            started.get(&id).map(|(t0, _)| Duration::from_micros(at.saturating_sub(*t0)))
        };
        for line in lines {
            let at = line.at_us;
            match &line.entry {
                Entry::HttpRequest { id, method, url, body, .. } => {
                    let exchange = HttpExchange { head: HttpHead::Pending, body: Vec::new() };
                    let body = body.bytes().unwrap_or_default();
                    let recorded = Recorded::Http { method: method.clone(), url: url.clone(), body, exchange };
                    started.insert(*id, (at, recorded));
                }
                Entry::WsOpen { id, url, .. } => {
                    let exchange = WsExchange { open: WsOpen::Pending, incoming: Vec::new(), responder: None };
                    let recorded = Recorded::Ws { url: url.clone(), exchange };
                    started.insert(*id, (at, recorded));
                }
                entry => {
                    let Some(id) = exchange_id(entry) else { continue };
                    let Some(after) = since(&started, id, at) else { continue };
                    let Some((_, recorded)) = started.get_mut(&id) else { continue };
                    apply(recorded, entry, after);
                }
            }
        }
        let mut ordered: Vec<(u64, u32, Recorded)> =
            started.into_iter().map(|(id, (at, recorded))| (at, id, recorded)).collect();
        ordered.sort_by_key(|(at, id, _)| (*at, *id));
        let slots = ordered.into_iter().map(|(_, _, recorded)| Slot { recorded, used: false }).collect();
        Self { slots: Mutex::new(slots), unmatched: Mutex::default(), requests: Mutex::default() }
    }

    fn take_http(&self, asked: &Asked<'_>) -> Option<HttpExchange> {
        let same = |recorded: &Recorded, body_too: bool| match recorded {
            Recorded::Http { method, url, body, exchange } => {
                (method == asked.method && url == asked.url && (!body_too || body == asked.body))
                    .then(|| exchange.clone())
            }
            Recorded::Ws { .. } => None,
        };
        self.take(|r| same(r, true)).or_else(|| self.take(|r| same(r, false)))
    }

    fn take_ws(&self, url: &str) -> Option<WsExchange> {
        self.take(|recorded| match recorded {
            Recorded::Ws { url: u, exchange } if u == url => Some(exchange.clone()),
            _ => None,
        })
    }

    /// The first unused exchange `answer` accepts, marked used.
    fn take<T>(&self, answer: impl Fn(&Recorded) -> Option<T>) -> Option<T> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.iter_mut().filter(|slot| !slot.used).find_map(|slot| {
            let answer = answer(&slot.recorded)?;
            slot.used = true;
            Some(answer)
        })
    }

    fn missed(&self, what: String) {
        tracing::info!(%what, "replay: a request the recording has no answer for");
        self.unmatched.lock().unwrap_or_else(PoisonError::into_inner).push(what);
    }

    /// Requests the replayed session made that the recording had no answer for.
    pub fn unmatched(&self) -> Vec<String> {
        self.unmatched.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every HTTP request the replayed session made (webhooks, providers): URL and body.
    pub fn requests(&self) -> Vec<(String, Vec<u8>)> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Recorded requests the replayed session never made.
    pub fn unused(&self) -> Vec<String> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .iter()
            .filter(|slot| !slot.used)
            .map(|slot| match &slot.recorded {
                Recorded::Http { method, url, .. } => format!("{method} {url}"),
                Recorded::Ws { url, .. } => format!("WebSocket {url}"),
            })
            .collect()
    }
}

impl Answers for ReplayTraffic {
    fn http(&self, asked: Asked<'_>) -> Option<HttpExchange> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).push((asked.url.to_string(), asked.body.to_vec()));
        let answer = self.take_http(&asked);
        if answer.is_none() {
            self.missed(format!("{} {}", asked.method, asked.url));
        }
        answer
    }

    fn ws(&self, asked: Asked<'_>) -> Option<WsExchange> {
        let answer = self.take_ws(asked.url);
        if answer.is_none() {
            self.missed(format!("WebSocket {}", asked.url));
        }
        answer
    }
}

fn exchange_id(entry: &Entry) -> Option<u32> {
    match entry {
        Entry::HttpResponse { id, .. }
        | Entry::HttpBody { id, .. }
        | Entry::HttpEnd { id }
        | Entry::HttpFailed { id, .. }
        | Entry::WsOpened { id }
        | Entry::WsRefused { id, .. }
        | Entry::WsFailed { id, .. }
        | Entry::WsRecv { id, .. }
        | Entry::WsRecvFailed { id, .. }
        | Entry::WsEnd { id } => Some(*id),
        _ => None,
    }
}

fn apply(recorded: &mut Recorded, entry: &Entry, after: Duration) {
    match (recorded, entry) {
        (Recorded::Http { exchange, .. }, Entry::HttpResponse { status, headers, .. }) => {
            exchange.head = HttpHead::Answered { after, status: *status, headers: headers.clone() };
        }
        (Recorded::Http { exchange, .. }, Entry::HttpBody { data, .. }) => {
            exchange.body.push(BodyStep::Chunk(after, Bytes::from(data.bytes().unwrap_or_default())));
        }
        (Recorded::Http { exchange, .. }, Entry::HttpEnd { .. }) => exchange.body.push(BodyStep::End(after)),
        (Recorded::Http { exchange, .. }, Entry::HttpFailed { failure, message, .. }) => {
            if matches!(exchange.head, HttpHead::Answered { .. }) {
                exchange.body.push(BodyStep::Failed(after, message.clone()));
            } else {
                exchange.head = HttpHead::Failed { after, failure: *failure, message: message.clone() };
            }
        }
        (Recorded::Ws { exchange, .. }, Entry::WsOpened { .. }) => exchange.open = WsOpen::Opened(after),
        (Recorded::Ws { exchange, .. }, Entry::WsRefused { status, retry_after, body, .. }) => {
            exchange.open =
                WsOpen::Refused { after, status: *status, retry_after: retry_after.clone(), body: body.clone() };
        }
        (Recorded::Ws { exchange, .. }, Entry::WsFailed { failure, message, .. }) => {
            exchange.open = WsOpen::Failed { after, failure: *failure, message: message.clone() };
        }
        (Recorded::Ws { exchange, .. }, Entry::WsRecv { message, .. }) => {
            exchange.incoming.push(WsStep::Message(after, message.clone()));
        }
        (Recorded::Ws { exchange, .. }, Entry::WsRecvFailed { message, .. }) => {
            exchange.incoming.push(WsStep::Failed(after, message.clone()));
        }
        (Recorded::Ws { exchange, .. }, Entry::WsEnd { .. }) => exchange.incoming.push(WsStep::End(after)),
        _ => {}
    }
}
