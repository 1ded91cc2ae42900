//! The record of a fake's WebSocket sessions: one entry per upgraded socket, updated live while
//! the session runs and read by the tests (snapshots, or polling until a condition holds).

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::server::lock;

/// Every session a fake opened, in connection order.
pub(crate) struct SessionLog<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for SessionLog<T> {
    fn default() -> Self {
        SessionLog(Arc::default())
    }
}

impl<T> SessionLog<T> {
    /// Adds the record of a new session; the returned entry updates it.
    pub(crate) fn open(&self, record: T) -> SessionEntry<T> {
        let mut sessions = lock(&self.0);
        sessions.push(record);
        SessionEntry { sessions: self.0.clone(), index: sessions.len() - 1 }
    }
}

impl<T: Clone + Debug> SessionLog<T> {
    /// Live snapshots of every session, in connection order.
    pub(crate) fn snapshot(&self) -> Vec<T> {
        lock(&self.0).clone()
    }

    /// Polls the sessions until `done` holds or `timeout` passes.
    pub(crate) async fn wait_for(&self, timeout: Duration, done: impl Fn(&[T]) -> bool) -> anyhow::Result<Vec<T>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sessions = self.snapshot();
            if done(&sessions) {
                return Ok(sessions);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("condition not met within {timeout:?}; sessions: {sessions:#?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// One session's record in its fake's [`SessionLog`].
pub(crate) struct SessionEntry<T> {
    sessions: Arc<Mutex<Vec<T>>>,
    index: usize,
}

impl<T> SessionEntry<T> {
    pub(crate) fn update(&self, update: impl FnOnce(&mut T)) {
        if let Some(session) = lock(&self.sessions).get_mut(self.index) {
            update(session);
        }
    }
}

/// The first value of a handshake query parameter.
pub(crate) fn query_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find_map(|(key, value)| (key == name).then_some(value.as_str()))
}

/// Text messages parsed as JSON (those that do not parse are left out).
pub(crate) fn parsed(messages: &[String]) -> Vec<serde_json::Value> {
    messages.iter().filter_map(|text| serde_json::from_str(text).ok()).collect()
}

/// The parsed messages whose `type` is `kind`.
pub(crate) fn of_type(messages: &[String], kind: &str) -> Vec<serde_json::Value> {
    let mut messages = parsed(messages);
    messages.retain(|message| message["type"] == kind);
    messages
}
