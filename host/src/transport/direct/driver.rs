//! The one task that runs a direct call: it owns the UDP socket, the session's channels and
//! the clock, and moves them in and out of the [`Call`]. It ends when the session lets go of
//! its side (its audio and event channels close), or when the session never takes it.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::call::{Call, CallOutput};
use crate::audio::{AudioEnds, AudioFrame, losses};
use crate::transport::Presence;
use crate::transport::webrtc::PeerSocket;
use crate::voice::control::TurnControl;

pub(super) struct Driver {
    pub call: Call,
    pub socket: PeerSocket,
    pub audio: AudioEnds,
    pub events: mpsc::Receiver<Vec<u8>>,
    pub presence: mpsc::Sender<Presence>,
    pub controls: mpsc::Sender<TurnControl>,
}

/// The call's clock: tokio's, so a test may pause it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    pub(super) async fn run(mut self) {
        let mut dropped = 0;
        let mut speaker_open = true;
        let mut events_open = true;
        loop {
            while let Some(output) = self.call.poll_output() {
                match output {
                    CallOutput::Transmit(transmit) => self.socket.send(transmit.destination, &transmit.bytes),
                    CallOutput::Microphone(frame) => deliver(&self.audio.microphone, frame, &mut dropped),
                    // Full only if the session stopped reading: it is ending anyway.
                    CallOutput::Presence(change) => {
                        let _ = self.presence.try_send(change);
                    }
                    CallOutput::Control(control) => {
                        if self.controls.try_send(control).is_err() {
                            tracing::warn!(?control, "the session is not taking turn controls; dropped");
                        }
                    }
                }
            }
            if !speaker_open && !events_open {
                break;
            }
            let deadline = self.call.deadline().unwrap_or_else(|| now() + std::time::Duration::from_secs(1));
            tokio::select! {
                frame = self.audio.speaker.recv(), if speaker_open => match frame {
                    Some(frame) => self.call.agent_frame(&frame, now()),
                    None => speaker_open = false,
                },
                json = self.events.recv(), if events_open => match json {
                    Some(json) => self.call.event(json, now()),
                    None => events_open = false,
                },
                Ok(()) = self.socket.readable() => {
                    let at = now();
                    while let Some((source, bytes)) = self.socket.try_receive() {
                        self.call.datagram(source, bytes, at);
                    }
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => self.call.timeout(now()),
            }
        }
        self.call.close(now());
        while let Some(output) = self.call.poll_output() {
            if let CallOutput::Transmit(transmit) = output {
                self.socket.send(transmit.destination, &transmit.bytes);
            }
        }
        tracing::info!(stats = ?self.call.stats(), microphone_dropped = dropped, "direct call closed");
    }
}

fn deliver(microphone: &mpsc::Sender<AudioFrame>, frame: AudioFrame, dropped: &mut u64) {
    match microphone.try_send(frame) {
        Ok(()) | Err(TrySendError::Closed(_)) => {}
        Err(TrySendError::Full(_)) => {
            if losses::count(dropped) {
                tracing::warn!(dropped = *dropped, "the voice loop is behind; microphone frame dropped");
            }
        }
    }
}
