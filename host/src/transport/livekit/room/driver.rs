//! The one task that runs a room session: it owns the signalling WebSocket, both peers' UDP
//! sockets, the callers' channels and the clock, and moves them in and out of the
//! [`RoomSession`]. Every rule lives in the session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt as _;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};

use super::error::RoomError;
use super::role::PeerRole;
use super::session::{self, CommandId, Input, Output, RoomSession};
use super::signal::{self, Socket};
use super::{PrimaryState, RoomEvent, Snapshot, lock};
use crate::audio::{AudioEnds, AudioFrame, losses};
use crate::error_text::chain;
use crate::transport::webrtc::PeerSocket;

pub(super) type Done = oneshot::Sender<Result<(), RoomError>>;

/// A caller's command with the channel its answer goes back on, and for `StartAudio` the
/// transport's ends of the session's audio.
pub(super) struct Command {
    pub command: session::Command,
    pub done: Done,
    pub audio: Option<AudioEnds>,
}

pub(super) struct Driver {
    pub session: RoomSession,
    pub socket: Socket,
    pub publisher: PeerSocket,
    pub subscriber: PeerSocket,
    pub shared: Arc<Mutex<Snapshot>>,
    pub events: mpsc::Sender<RoomEvent>,
    pub commands: mpsc::Receiver<Command>,
    pub primary: watch::Sender<PrimaryState>,
    pub audio: DriverAudio,
}

/// The room's ends of the session's audio, once started.
#[derive(Default)]
pub(super) struct DriverAudio {
    microphone: Option<mpsc::Sender<AudioFrame>>,
    speaker: Option<mpsc::Receiver<AudioFrame>>,
    /// Microphone frames dropped because the voice loop was behind.
    dropped: u64,
}

impl DriverAudio {
    fn attach(&mut self, ends: AudioEnds) {
        self.microphone = Some(ends.microphone);
        self.speaker = Some(ends.speaker);
    }

    fn deliver(&mut self, frame: AudioFrame) {
        let Some(microphone) = &self.microphone else { return };
        match microphone.try_send(frame) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                if losses::count(&mut self.dropped) {
                    tracing::warn!(dropped = self.dropped, "the voice loop is behind; microphone frame dropped");
                }
            }
            Err(TrySendError::Closed(_)) => self.microphone = None,
        }
    }

    /// The agent's next frame; pending forever once the voice loop is gone.
    async fn next_speech(&mut self) -> Option<AudioFrame> {
        let Some(speaker) = self.speaker.as_mut() else { return std::future::pending().await };
        let frame = speaker.recv().await;
        if frame.is_none() {
            self.speaker = None;
        }
        frame
    }
}

/// The session's clock: tokio's, so a test may pause it.
pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    pub(super) async fn run(mut self) {
        let mut waiting: HashMap<CommandId, Done> = HashMap::new();
        let mut next_id: CommandId = 0;
        loop {
            let deadline = loop {
                match self.session.poll_output() {
                    Output::Timeout(at) => break at,
                    Output::Finished { .. } => {
                        self.sync_snapshot();
                        return self.close_commands(&mut waiting);
                    }
                    Output::Signal { message, done } => {
                        let sent = signal::send(&mut self.socket, message).await;
                        let lost = sent.as_ref().err().map(|e| format!("signalling connection lost: {e}"));
                        if let Some(done) = done.and_then(|id| waiting.remove(&id)) {
                            let _ = done.send(sent);
                        }
                        if let Some(reason) = lost {
                            self.session.handle_input(Input::SignalLost(reason), now());
                        }
                    }
                    Output::Transmit { role, transmit } => {
                        self.socket_of(role).send(transmit.destination, &transmit.bytes);
                    }
                    // A dropped receiver means nobody listens; the session still runs for the handles.
                    Output::Event(event) => {
                        let _ = self.events.send(event).await;
                    }
                    Output::Microphone(frame) => self.audio.deliver(frame),
                    Output::Done { id, result } => {
                        if let Some(done) = waiting.remove(&id) {
                            let _ = done.send(result);
                        }
                    }
                    Output::Primary(state) => {
                        self.sync_snapshot();
                        self.primary.send_replace(state);
                    }
                    Output::CloseSignalling => {
                        let _ = self.socket.close(None).await;
                    }
                }
            };
            self.sync_snapshot();
            let input = tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(frame)) => match signal::decode(frame) {
                        Ok(Some(message)) => Input::Signal(Box::new(message)),
                        Ok(None) => continue,
                        Err(RoomError::Disconnected { reason }) => Input::SignalLost(reason),
                        Err(error) => Input::SignalLost(error.to_string()),
                    },
                    Some(Err(error)) => Input::SignalLost(format!("signalling connection lost: {}", chain(&error))),
                    None => Input::SignalLost("the server closed the signalling connection".into()),
                },
                command = self.commands.recv() => match command {
                    Some(Command { command, done, audio }) => {
                        if let Some(ends) = audio {
                            self.audio.attach(ends);
                        }
                        next_id += 1;
                        waiting.insert(next_id, done);
                        Input::Command(next_id, command)
                    }
                    None => Input::HandlesGone,
                },
                Some(frame) = self.audio.next_speech() => Input::AgentAudio(frame),
                Ok(()) = self.publisher.readable() => {
                    self.receive(PeerRole::Publisher);
                    continue;
                }
                Ok(()) = self.subscriber.readable() => {
                    self.receive(PeerRole::Subscriber);
                    continue;
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => Input::Timeout,
            };
            self.session.handle_input(input, now());
        }
    }

    fn socket_of(&mut self, role: PeerRole) -> &mut PeerSocket {
        match role {
            PeerRole::Publisher => &mut self.publisher,
            PeerRole::Subscriber => &mut self.subscriber,
        }
    }

    /// Feeds every datagram waiting on a peer's socket into the session.
    fn receive(&mut self, role: PeerRole) {
        let at = now();
        let socket = match role {
            PeerRole::Publisher => &mut self.publisher,
            PeerRole::Subscriber => &mut self.subscriber,
        };
        while let Some((source, bytes)) = socket.try_receive() {
            self.session.handle_datagram(role, source, bytes, at);
        }
    }

    fn sync_snapshot(&mut self) {
        if let Some(snapshot) = self.session.changed_snapshot() {
            *lock(&self.shared) = snapshot.clone();
        }
    }

    /// After the end: every command still waiting, or still coming, gets the reason.
    fn close_commands(&mut self, waiting: &mut HashMap<CommandId, Done>) {
        let reason = lock(&self.shared).ended.clone().unwrap_or_else(|| "the session ended".into());
        let disconnected = RoomError::Disconnected { reason };
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            let _ = command.done.send(Err(disconnected.clone()));
        }
        for (_, done) in waiting.drain() {
            let _ = done.send(Err(disconnected.clone()));
        }
    }
}
