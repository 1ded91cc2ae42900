//! The agent sessions this process runs itself (`AGENT_RUNTIME=inprocess`), by room.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Running in-process sessions. Cheap to clone.
#[derive(Clone, Default)]
pub struct LocalSessions {
    running: Arc<Mutex<HashMap<String, Running>>>,
}

struct Running {
    stop: CancellationToken,
    /// Turns true when the session's task is over.
    ended: watch::Receiver<bool>,
}

impl LocalSessions {
    /// Runs `session` for `room` until it ends or is stopped (its token fires).
    pub fn spawn<F>(&self, room: &str, session: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let (ended_tx, ended) = watch::channel(false);
        let task = session(stop.clone());
        self.lock().insert(room.to_string(), Running { stop, ended });
        let sessions = self.clone();
        let room = room.to_string();
        tokio::spawn(async move {
            task.await;
            sessions.lock().remove(&room);
            ended_tx.send_replace(true);
        });
    }

    /// Stops the session in `room` and waits up to `timeout` for it to wrap up (its post-call
    /// steps included). Whether one was running.
    pub async fn stop(&self, room: &str, timeout: Duration) -> bool {
        let Some((stop, mut ended)) = self.lock().get(room).map(|r| (r.stop.clone(), r.ended.clone())) else {
            return false;
        };
        stop.cancel();
        if tokio::time::timeout(timeout, ended.wait_for(|ended| *ended)).await.is_err() {
            tracing::warn!(room, ?timeout, "session still wrapping up after being stopped");
        }
        true
    }

    /// Stops every session (server shutdown), waiting up to `timeout` for them together.
    pub async fn stop_all(&self, timeout: Duration) {
        let rooms: Vec<String> = self.lock().keys().cloned().collect();
        let stops = rooms.iter().map(|room| self.stop(room, timeout));
        futures_util::future::join_all(stops).await;
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    pub fn is_running(&self, room: &str) -> bool {
        self.lock().contains_key(room)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        // The map stays consistent across a panic elsewhere: every update is one call.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stopped_session_is_awaited_and_forgotten() {
        let sessions = LocalSessions::default();
        let (wrapped_tx, mut wrapped) = tokio::sync::mpsc::channel(1);
        sessions.spawn("room-a", |stop| async move {
            stop.cancelled().await;
            // Post-call work after the stop still finishes before `stop` returns.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = wrapped_tx.send(()).await;
        });
        assert!(sessions.is_running("room-a"));
        assert!(!sessions.stop("room-b", Duration::from_secs(1)).await);
        assert!(sessions.stop("room-a", Duration::from_secs(5)).await);
        assert!(wrapped.try_recv().is_ok());
        assert_eq!(sessions.count(), 0);
    }

    #[tokio::test]
    async fn a_session_ending_on_its_own_leaves_the_registry() {
        let sessions = LocalSessions::default();
        let (end_tx, end) = tokio::sync::oneshot::channel::<()>();
        sessions.spawn("room-a", |_| async move {
            let _ = end.await;
        });
        assert_eq!(sessions.count(), 1);
        end_tx.send(()).unwrap();
        for _ in 0..100 {
            if sessions.count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the ended session is still registered");
    }
}
