use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::events::{AgentEvent, EventSink};
use crate::transport::UserLink;

/// Events queued for the room before `emit` starts dropping them: about a minute of a busy
/// session's events, so only a room that has stopped taking them loses any.
pub const EVENT_QUEUE: usize = 1024;

/// Publishes a session's events on its room, one at a time and in order.
///
/// `emit` never waits: events are queued and a task sends them, so a slow room never stalls the
/// voice loop. An event that cannot be published (or finds the queue full) is logged and
/// counted; the session goes on.
pub struct RoomPublisher {
    queue: mpsc::Sender<AgentEvent>,
    failures: Arc<AtomicU64>,
}

/// The task behind a [`RoomPublisher`]; [`PublisherTask::finish`] sends what is queued and stops.
pub struct PublisherTask {
    done: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RoomPublisher {
    pub fn spawn(link: Arc<dyn UserLink>) -> (Self, PublisherTask) {
        let (queue, events) = mpsc::channel(EVENT_QUEUE);
        let (done, finish) = oneshot::channel();
        let failures = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(publish(link, events, finish, failures.clone()));
        (Self { queue, failures }, PublisherTask { done, task })
    }

    /// Events that could not be published so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

impl EventSink for RoomPublisher {
    fn emit(&self, event: AgentEvent) {
        match self.queue.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                let dropped = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(dropped, kind = event.kind(), "the room is not taking events; event dropped");
            }
            // The task gone means the session is over; nothing is left to tell.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl PublisherTask {
    /// Publishes what is still queued (for at most `timeout`), then stops.
    pub async fn finish(self, timeout: Duration) {
        let _ = self.done.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(timeout, self.task).await.is_err() {
            tracing::warn!(?timeout, "events still unpublished when the session closed");
            abort.abort();
        }
    }
}

async fn publish(
    link: Arc<dyn UserLink>,
    mut events: mpsc::Receiver<AgentEvent>,
    mut finish: oneshot::Receiver<()>,
    failures: Arc<AtomicU64>,
) {
    loop {
        let event = tokio::select! {
            biased;
            event = events.recv() => match event {
                Some(event) => event,
                None => return,
            },
            _ = &mut finish => {
                while let Ok(event) = events.try_recv() {
                    send(link.as_ref(), event, &failures).await;
                }
                return;
            }
        };
        send(link.as_ref(), event, &failures).await;
    }
}

async fn send(link: &dyn UserLink, event: AgentEvent, failures: &AtomicU64) {
    if let Err(error) = link.publish_event(event.to_json().into_bytes()).await {
        failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, "could not publish an agent event");
    }
    let shown = match &event {
        AgentEvent::AgentState { state } => {
            link.set_agent_state(*state).await.map_err(|e| (e, "agent state attribute"))
        }
        AgentEvent::Transcript { role, text, r#final } => {
            link.publish_transcript(*role, text, *r#final).await.map_err(|e| (e, "transcription stream"))
        }
        _ => Ok(()),
    };
    if let Err((error, what)) = shown {
        failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, what, "could not show an agent event the room's way");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::AgentState;
    use crate::transport::LinkError;
    use futures_util::future::BoxFuture;

    /// A room that takes nothing: every publish waits forever.
    struct StuckRoom;

    impl UserLink for StuckRoom {
        fn publish_event(&self, _json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
            Box::pin(std::future::pending())
        }
        fn set_agent_state(&self, _state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn a_room_that_takes_nothing_costs_events_counted_never_memory() {
        let (publisher, task) = RoomPublisher::spawn(Arc::new(StuckRoom));
        // One event is taken by the task (stuck publishing it); the queue holds the next ones.
        publisher.emit(AgentEvent::AgentState { state: AgentState::Listening });
        tokio::task::yield_now().await;
        for _ in 0..EVENT_QUEUE + 10 {
            publisher.emit(AgentEvent::AgentState { state: AgentState::Thinking });
        }
        assert_eq!(publisher.failures(), 10, "the overflow is dropped and counted");
        task.finish(Duration::from_millis(10)).await;
    }
}
