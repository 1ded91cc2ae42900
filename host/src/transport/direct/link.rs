//! A direct call as a session's [`UserLink`]: events go to the call's driver, which writes
//! them on the browser's data channel.

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::events::AgentState;
use crate::transport::{LinkError, UserLink};

pub struct DirectLink {
    pub(super) events: mpsc::Sender<Vec<u8>>,
}

impl UserLink for DirectLink {
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async move {
            self.events.send(json).await.map_err(|_| LinkError::from("the direct call is over"))?;
            Ok(())
        })
    }

    /// The page learns the state from the `agent_state` events; a direct call has no
    /// attributes to keep it in.
    fn set_agent_state(&self, _state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Ok(()) })
    }
}
