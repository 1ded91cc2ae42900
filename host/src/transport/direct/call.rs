//! One direct call, sans-I/O: the browser's offer answered on a str0m [`Peer`], its
//! microphone decoded into 20 ms frames, the agent's voice sent back on the same m-line, and
//! the session's events written on the browser's data channel. The driver owns the socket
//! and the clock; every rule lives here.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::media::Mid;

use super::DirectError;
use crate::audio::incoming::IncomingVoice;
use crate::audio::paced::{PacedVoice, SendStats};
use crate::audio::{AudioFrame, losses};
use crate::events::EVENTS_TOPIC;
use crate::transport::Presence;
use crate::transport::webrtc::{Peer, PeerEvent, Transmit};
use crate::voice::control::TurnControl;

/// The label of the browser's data channel the events go out on (the LiveKit topic's name).
pub const EVENTS_CHANNEL: &str = EVENTS_TOPIC;
/// The identity a direct session's user goes by.
pub const DIRECT_USER: &str = "browser";
/// Events held while the data channel is not open yet; past this the oldest are dropped.
const EVENT_BACKLOG: usize = 1024;

/// What the call asks its driver to do.
#[derive(Debug)]
pub enum CallOutput {
    Transmit(Transmit),
    Microphone(AudioFrame),
    Presence(Presence),
    /// The page's turn control (a message on the events channel).
    Control(TurnControl),
}

/// Counters a call reports when it ends.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CallStats {
    pub frames_in: u64,
    pub sent: SendStats,
    /// Events dropped because the data channel never opened or was gone.
    pub events_dropped: u64,
}

pub struct Call {
    peer: Peer,
    /// The browser's microphone: its mid and decoder, once its track is known.
    microphone: Option<(Mid, IncomingVoice)>,
    voice: PacedVoice,
    events: VecDeque<Vec<u8>>,
    events_dropped: u64,
    /// When the browser must have connected by.
    connect_by: Option<Instant>,
    connected: bool,
    /// The user has left (ICE failed, closed, never connected); nothing more happens.
    gone: bool,
    out: VecDeque<CallOutput>,
}

impl Call {
    /// Answers the browser's `offer` on a peer whose socket is bound at `local`. The offer
    /// must carry an audio track (the microphone); its candidates are optional, since the
    /// browser's connectivity checks tell us its address. The browser must connect within
    /// `connect_timeout`.
    pub fn answer(
        offer: &str,
        local: SocketAddr,
        connect_timeout: Duration,
        media_time: u64,
        now: Instant,
    ) -> Result<(Self, String), DirectError> {
        if !offer.lines().any(|line| line.starts_with("m=audio")) {
            return Err(DirectError::InvalidOffer("the offer has no audio track (m=audio): add the microphone".into()));
        }
        let mut peer = Peer::new("direct", local, now).map_err(|e| DirectError::WebRtc(e.to_string()))?;
        let answer =
            peer.accept_offer(&without_mdns_candidates(offer)).map_err(|e| DirectError::InvalidOffer(e.to_string()))?;
        let voice = PacedVoice::new(media_time).map_err(|e| DirectError::WebRtc(e.to_string()))?;
        let mut call = Self {
            peer,
            microphone: None,
            voice,
            events: VecDeque::new(),
            events_dropped: 0,
            connect_by: Some(now + connect_timeout),
            connected: false,
            gone: false,
            out: VecDeque::new(),
        };
        call.drive(now);
        Ok((call, answer))
    }

    /// A datagram that arrived on the call's socket.
    pub fn datagram(&mut self, source: SocketAddr, bytes: &[u8], now: Instant) {
        if let Err(error) = self.peer.receive(now, source, bytes) {
            self.leave(format!("WebRTC failed: {error}"));
        }
        self.drive(now);
    }

    /// The agent's next 20 ms of speech.
    pub fn agent_frame(&mut self, frame: &AudioFrame, now: Instant) {
        let peer = &mut self.peer;
        self.voice.speech(frame, now, |packet| peer.write_audio(now, packet));
        self.flush();
    }

    /// One event's JSON for the data channel (held until it opens).
    pub fn event(&mut self, json: Vec<u8>, now: Instant) {
        if self.events.len() >= EVENT_BACKLOG {
            self.events.pop_front();
            if losses::count(&mut self.events_dropped) {
                tracing::warn!(dropped = self.events_dropped, "the events channel is not open; event dropped");
            }
        }
        self.events.push_back(json);
        self.send_events();
        self.drive(now);
    }

    /// Time passed: call at [`Call::deadline`].
    pub fn timeout(&mut self, now: Instant) {
        self.drive(now);
    }

    /// When the call next needs the driver.
    pub fn deadline(&self) -> Option<Instant> {
        let mic = self.microphone.as_ref().and_then(|(_, voice)| voice.deadline());
        let connect = self.connect_by.filter(|_| !self.connected);
        [self.peer.deadline(), mic, self.voice.deadline(), connect].into_iter().flatten().min()
    }

    pub fn poll_output(&mut self) -> Option<CallOutput> {
        self.out.pop_front()
    }

    /// Hangs up: str0m sends the DTLS close alert.
    pub fn close(&mut self, now: Instant) {
        self.peer.close(now);
        self.flush();
    }

    pub fn stats(&self) -> CallStats {
        CallStats {
            frames_in: self.microphone.as_ref().map_or(0, |(_, voice)| voice.frames()),
            sent: self.voice.stats(),
            events_dropped: self.events_dropped,
        }
    }

    fn drive(&mut self, now: Instant) {
        if self.connect_by.is_some_and(|by| !self.connected && now >= by) {
            self.connect_by = None;
            self.leave("the browser never connected (ICE did not succeed)".into());
        }
        match self.peer.drive(now) {
            Ok(events) => events.into_iter().for_each(|event| self.on_peer_event(event, now)),
            Err(error) => self.leave(format!("WebRTC failed: {error}")),
        }
        if let Some((_, voice)) = self.microphone.as_mut() {
            let out = &mut self.out;
            voice.poll(now, |frame| out.push_back(CallOutput::Microphone(frame)));
        }
        let peer = &mut self.peer;
        self.voice.poll(now, peer.can_send_audio() && self.connected, |packet| peer.write_audio(now, packet));
        self.flush();
    }

    fn on_peer_event(&mut self, event: PeerEvent, now: Instant) {
        match event {
            PeerEvent::Connected => {
                if !self.connected && !self.gone {
                    self.connected = true;
                    tracing::info!("browser connected");
                    self.out.push_back(CallOutput::Presence(Presence::UserJoined(DIRECT_USER.into())));
                }
            }
            PeerEvent::Disconnected => self.leave("the browser's connection was lost".into()),
            PeerEvent::ChannelOpen(label) if label == EVENTS_CHANNEL => self.send_events(),
            PeerEvent::ChannelOpen(label) => tracing::debug!(%label, "data channel ignored"),
            // The page speaks on the events channel only to control turns (a talk button).
            PeerEvent::Data { label, bytes } if label == EVENTS_CHANNEL => match TurnControl::parse(&bytes) {
                Ok(control) => self.out.push_back(CallOutput::Control(control)),
                Err(error) => tracing::warn!(%error, "a message from the page ignored"),
            },
            PeerEvent::Data { label, .. } => tracing::debug!(%label, "data from the browser ignored"),
            PeerEvent::TrackAdded { mid, .. } => {
                if self.microphone.is_some() {
                    tracing::debug!(%mid, "a second audio track ignored");
                    return;
                }
                match IncomingVoice::new() {
                    Ok(voice) => self.microphone = Some((mid, voice)),
                    Err(error) => tracing::warn!(%error, "no Opus decoder; the user cannot be heard"),
                }
            }
            PeerEvent::Audio { mid, seq, payload } => {
                if let Some((_, voice)) = self.microphone.as_mut().filter(|(m, _)| *m == mid) {
                    voice.push(seq, payload, now);
                }
            }
        }
    }

    /// Writes the held events, in order, once the channel is open.
    fn send_events(&mut self) {
        while let Some(json) = self.events.front() {
            match self.peer.send(EVENTS_CHANNEL, false, json) {
                Ok(true) => {
                    self.events.pop_front();
                }
                Ok(false) => return,
                Err(error) => {
                    self.events.pop_front();
                    if losses::count(&mut self.events_dropped) {
                        tracing::warn!(%error, dropped = self.events_dropped, "event not sent");
                    }
                }
            }
        }
    }

    /// The user is gone: the session hears it once.
    fn leave(&mut self, reason: String) {
        if self.gone {
            return;
        }
        self.gone = true;
        tracing::info!(%reason, "direct call over");
        let change = if self.connected { Presence::UserLeft(DIRECT_USER.into()) } else { Presence::Closed(reason) };
        self.out.push_back(CallOutput::Presence(change));
    }

    /// Moves the peer's datagrams to the output.
    fn flush(&mut self) {
        if let Err(error) = self.peer.flush_writes() {
            tracing::debug!(%error, "flushing writes failed");
        }
        self.out.extend(self.peer.take_transmits().into_iter().map(CallOutput::Transmit));
    }
}

/// The offer without host candidates hidden behind mDNS names (`<uuid>.local`), which str0m
/// cannot resolve: the browser's checks reach us from its real address anyway.
fn without_mdns_candidates(offer: &str) -> String {
    offer.split_inclusive('\n').filter(|line| !(line.starts_with("a=candidate:") && line.contains(".local "))).collect()
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
