//! One WebRTC peer connection: a str0m [`Rtc`], sans-I/O like it. Whoever drives it owns
//! the UDP socket; datagrams come in through [`Peer::receive`] and go out as [`Transmit`]s.
//!
//! The contract follows str0m's: mutate (an SDP, a candidate, a datagram, a write), then
//! [`Peer::drive`] drains the output to its next timeout, queueing what is due and returning
//! what happened.
//!
//! Who uses it: LiveKit's two peer connections (the **publisher**, where we offer our data
//! channels and the agent's send-only track, and the **subscriber**, where the server offers
//! the other participants' tracks), and a direct session, where a browser offers its
//! microphone as a send-receive track (the agent's voice goes back on the same m-line) and
//! its own data channel.
//!
//! Audio is Opus only. Each received track is reported ([`PeerEvent::TrackAdded`], with its
//! msid stream id) and every packet as it arrives ([`PeerEvent::Audio`]), unordered: the
//! caller's jitter buffer puts them in order. The one sending track (ours, offered with
//! [`Peer::add_audio_track`]; or the browser's send-receive one) is fed by
//! [`Peer::write_audio`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::PeerError;
use crate::audio::jitter::Payload;
use crate::audio::outgoing::OutgoingPacket;

/// What a peer reports from [`Peer::drive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// ICE and DTLS are up.
    Connected,
    /// ICE gave up on every candidate pair.
    Disconnected,
    ChannelOpen(String),
    /// A message on the channel with this label.
    Data {
        label: String,
        bytes: Vec<u8>,
    },
    /// The remote side added an audio track (LiveKit's msid stream id is
    /// `"<participant_sid>|<track_sid>"`).
    TrackAdded {
        mid: Mid,
        stream_id: String,
    },
    /// One Opus packet of the track `mid`, as it arrived (not reordered).
    Audio {
        mid: Mid,
        /// The RTP sequence number, extended to 64 bits.
        seq: u64,
        payload: Payload,
    },
}

/// A datagram for the peer's socket to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub bytes: Vec<u8>,
}

/// The browser's `RTCIceCandidateInit` (LiveKit trickles it as JSON in `TrickleRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateInit {
    pub candidate: String,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u32>,
}

pub struct Peer {
    /// Which connection, for logs ("publisher", "subscriber", "direct").
    name: &'static str,
    rtc: Rtc,
    /// The address of the socket the driver reads and sends for this peer.
    local: SocketAddr,
    /// Events str0m reported while datagrams were fed in, for the next [`Peer::drive`].
    events: Vec<PeerEvent>,
    /// Datagrams to send, for the next [`Peer::take_transmits`].
    transmits: Vec<Transmit>,
    /// Open channels by id, with their labels.
    channels: HashMap<ChannelId, String>,
    pending_offer: Option<SdpPendingOffer>,
    /// Whether an offer was ever made.
    offered: bool,
    /// The data channels our first offer opens.
    channels_to_open: Vec<ChannelConfig>,
    /// The first m-line's mid of the last description we made (trickled candidates name it).
    first_mid: String,
    /// The audio track to add at the next offer (`stream_id`, `track_id`).
    track_to_add: Option<(String, String)>,
    /// The sending track's mid (once offered, or once a remote offer brought a send-receive
    /// one) and its Opus payload type (once negotiated).
    sending: Option<(Mid, Option<Pt>)>,
    /// When str0m next wants [`Input::Timeout`]; `None`: at the next drive.
    deadline: Option<Instant>,
    /// Datagrams str0m refused before ICE connected, to feed again once it does.
    held: Vec<(SocketAddr, Vec<u8>)>,
}

/// Datagrams held while ICE completes: a DTLS flight is a handful.
const MAX_HELD: usize = 8;

impl Peer {
    /// A peer whose socket is bound at `local`; that address is its host candidate.
    pub fn new(name: &'static str, local: SocketAddr, now: Instant) -> Result<Self, PeerError> {
        // str0m builds its DTLS certificate here; it only fails if the crypto backend is broken.
        // Opus only (no video, no RED: voice agents ask for none); packets are handed over as
        // they come, in any order, because the caller's jitter buffer does the reordering.
        let mut rtc = Rtc::builder().clear_codecs().enable_opus(true, false).set_reordering_size_audio(0).build(now);
        let candidate =
            Candidate::host(local, Protocol::Udp).map_err(|e| PeerError::WebRtc(format!("host candidate: {e}")))?;
        rtc.add_local_candidate(candidate);
        tracing::debug!(name, %local, "peer connection created");
        Ok(Self {
            name,
            rtc,
            local,
            events: Vec::new(),
            transmits: Vec::new(),
            channels: HashMap::new(),
            pending_offer: None,
            offered: false,
            channels_to_open: Vec::new(),
            first_mid: "0".to_string(),
            track_to_add: None,
            sending: None,
            deadline: Some(now),
            held: Vec::new(),
        })
    }

    /// Our first offer opens these data channels.
    pub fn with_channels(mut self, channels: Vec<ChannelConfig>) -> Self {
        self.channels_to_open = channels;
        self
    }

    /// The agent's audio track goes into the next offer, as a send-only Opus m-line whose
    /// msid is `stream_id track_id` (LiveKit matches the track id to the `cid` of its
    /// `AddTrackRequest`).
    pub fn add_audio_track(&mut self, stream_id: String, track_id: String) {
        self.track_to_add = Some((stream_id, track_id));
    }

    /// Whether an offer is out and not answered yet (a new one must wait for the answer).
    pub fn is_offering(&self) -> bool {
        self.pending_offer.is_some()
    }

    /// Whether a change waits for the next offer.
    pub fn wants_offer(&self) -> bool {
        self.track_to_add.is_some()
    }

    /// Makes an offer: the data channels of [`Peer::with_channels`] on the first, the audio
    /// track if one was added. `None` when there is nothing to negotiate or an offer is still
    /// unanswered.
    pub fn create_offer(&mut self) -> Option<String> {
        if self.pending_offer.is_some() {
            return None;
        }
        let mut changes = self.rtc.sdp_api();
        if let Some((stream_id, track_id)) = self.track_to_add.take() {
            let mid = changes.add_media(MediaKind::Audio, Direction::SendOnly, Some(stream_id), Some(track_id), None);
            self.sending = Some((mid, None));
        }
        if !self.offered {
            for channel in std::mem::take(&mut self.channels_to_open) {
                changes.add_channel_with_config(channel);
            }
        }
        let (offer, pending) = changes.apply()?;
        self.pending_offer = Some(pending);
        self.offered = true;
        let sdp = offer.to_sdp_string();
        self.first_mid = first_mid(&sdp);
        Some(sdp)
    }

    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), PeerError> {
        let Some(pending) = self.pending_offer.take() else {
            return Err(PeerError::Protocol(format!("an answer for the {} without an offer", self.name)));
        };
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| PeerError::Protocol(format!("bad SDP answer: {e}")))?;
        self.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| PeerError::WebRtc(e.to_string()))?;
        if let Some((mid, pt)) = self.sending.as_mut() {
            *pt = opus_pt(&mut self.rtc, *mid);
            if pt.is_none() {
                return Err(PeerError::Protocol(format!(
                    "the {} answer accepted no Opus for the audio track",
                    self.name
                )));
            }
        }
        self.wake_ice();
        Ok(())
    }

    /// Whether the audio track is negotiated (its packets can be written).
    pub fn can_send_audio(&self) -> bool {
        matches!(self.sending, Some((_, Some(_))))
    }

    /// One Opus packet of the sending track, sent at the next drive. Dropped until the track
    /// is negotiated and connected (as str0m drops media written before ICE is up).
    pub fn write_audio(&mut self, now: Instant, packet: OutgoingPacket<'_>) -> Result<(), PeerError> {
        let Some((mid, Some(pt))) = self.sending else { return Ok(()) };
        let Some(writer) = self.rtc.writer(mid) else { return Ok(()) };
        let time = MediaTime::new(packet.media_time, Frequency::FORTY_EIGHT_KHZ);
        writer
            .start_of_talkspurt(packet.marker)
            .write(pt, now, time, packet.payload)
            .map_err(|e| PeerError::WebRtc(format!("audio track: {e}")))
    }

    /// Runs ICE at the next drive instead of at its next pacing tick: the remote side's
    /// connectivity checks that arrived before its credentials wait in a queue only a timeout
    /// empties, and the tick can be 50 ms away (measured: joins took ~6 or ~56 ms).
    fn wake_ice(&mut self) {
        self.deadline = None;
    }

    /// Answers the remote side's offer.
    pub fn accept_offer(&mut self, sdp: &str) -> Result<String, PeerError> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| PeerError::Protocol(format!("bad SDP offer: {e}")))?;
        let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|e| PeerError::WebRtc(e.to_string()))?;
        let sdp = answer.to_sdp_string();
        self.first_mid = first_mid(&sdp);
        self.wake_ice();
        Ok(sdp)
    }

    /// A candidate the remote side trickled. An empty one (end of candidates) is ignored; a bad one
    /// is an error the caller logs (one bad candidate does not end the session).
    pub fn add_remote_candidate(&mut self, init: &CandidateInit) -> Result<(), PeerError> {
        let text = init.candidate.trim();
        if text.is_empty() {
            return Ok(());
        }
        let text = if text.starts_with("candidate:") { text.to_string() } else { format!("candidate:{text}") };
        let candidate = Candidate::from_sdp_string(&text)
            .map_err(|e| PeerError::Protocol(format!("bad ICE candidate {text:?}: {e}")))?;
        self.rtc.add_remote_candidate(candidate);
        self.wake_ice();
        Ok(())
    }

    /// Our host candidate, to trickle after our offer or answer.
    pub fn local_candidate(&self) -> CandidateInit {
        let candidate = Candidate::host(self.local, Protocol::Udp).map_or_else(
            // Unreachable: the same call succeeded in `new`.
            |_| String::new(),
            |c| c.to_sdp_string(),
        );
        CandidateInit { candidate, sdp_mid: Some(self.first_mid.clone()), sdp_m_line_index: Some(0) }
    }

    pub fn is_open(&self, label: &str) -> bool {
        self.channels.values().any(|l| l == label)
    }

    /// Whether the first offer (with the data channels) went out.
    pub fn has_negotiated(&self) -> bool {
        self.offered
    }

    /// Writes a message on the open channel `label` (`binary`, or UTF-8 text). `Ok(false)`
    /// when it is not open (yet); the caller keeps the message until
    /// [`PeerEvent::ChannelOpen`].
    pub fn send(&mut self, label: &str, binary: bool, bytes: &[u8]) -> Result<bool, PeerError> {
        let Some(id) = self.channels.iter().find_map(|(id, l)| (l == label).then_some(*id)) else {
            return Ok(false);
        };
        let Some(mut channel) = self.rtc.channel(id) else { return Ok(false) };
        channel.write(binary, bytes).map_err(|e| PeerError::WebRtc(format!("data channel {label}: {e}")))?;
        Ok(true)
    }

    /// Bytes written to the data channels and not yet sent.
    pub fn buffered(&mut self) -> usize {
        let ids: Vec<_> = self.channels.keys().copied().collect();
        ids.into_iter().filter_map(|id| self.rtc.channel(id).map(|mut channel| channel.buffered_amount())).sum()
    }

    /// When [`Peer::drive`] must run again even without input (`None`: at once).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The address of this peer's socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// One datagram that arrived on this peer's socket from `source`.
    pub fn receive(&mut self, now: Instant, source: SocketAddr, bytes: &[u8]) -> Result<(), PeerError> {
        let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, bytes) else {
            tracing::trace!(name = self.name, %source, "dropped a datagram str0m does not recognise");
            return Ok(());
        };
        let input = Input::Receive(now, receive);
        if !self.rtc.accepts(&input) {
            // The other side's first DTLS flight can overtake our own ICE nomination by a few
            // microseconds; dropped, it would only come again on its retransmit timer (measured:
            // 0.7 s added to every direct call's start). Held, it goes in once ICE lets it.
            if self.held.len() < MAX_HELD && !self.rtc.is_connected() {
                self.held.push((source, bytes.to_vec()));
            }
            return Ok(());
        }
        self.rtc.handle_input(input).map_err(|e| PeerError::WebRtc(e.to_string()))?;
        // Drain after every datagram: str0m's DTLS queue holds only a few records.
        self.poll()?;
        self.replay_held(now)
    }

    /// Feeds the held datagrams that str0m now accepts; the rest wait (until connected).
    fn replay_held(&mut self, now: Instant) -> Result<(), PeerError> {
        if self.held.is_empty() {
            return Ok(());
        }
        for (source, bytes) in std::mem::take(&mut self.held) {
            let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &bytes) else { continue };
            let input = Input::Receive(now, receive);
            if self.rtc.accepts(&input) {
                self.rtc.handle_input(input).map_err(|e| PeerError::WebRtc(e.to_string()))?;
                self.poll()?;
            } else if !self.rtc.is_connected() {
                self.held.push((source, bytes));
            }
        }
        Ok(())
    }

    /// Advances time to `now` and drains str0m's output: queues every due datagram and returns
    /// what happened. Call after every mutation and input, and at [`Peer::deadline`].
    pub fn drive(&mut self, now: Instant) -> Result<Vec<PeerEvent>, PeerError> {
        if self.deadline.is_none_or(|deadline| now >= deadline) {
            self.rtc.handle_input(Input::Timeout(now)).map_err(|e| PeerError::WebRtc(e.to_string()))?;
        }
        self.poll()?;
        self.replay_held(now)?;
        Ok(std::mem::take(&mut self.events))
    }

    /// Turns what was written (audio, channel messages) into datagrams without advancing time;
    /// events wait for the next [`Peer::drive`].
    pub fn flush_writes(&mut self) -> Result<(), PeerError> {
        self.poll()
    }

    /// The datagrams queued since the last call, oldest first.
    pub fn take_transmits(&mut self) -> Vec<Transmit> {
        std::mem::take(&mut self.transmits)
    }

    /// Drains str0m's output to its next timeout, queueing datagrams and keeping events.
    fn poll(&mut self) -> Result<(), PeerError> {
        loop {
            match self.rtc.poll_output().map_err(|e| PeerError::WebRtc(e.to_string()))? {
                Output::Timeout(deadline) => {
                    self.deadline = Some(deadline);
                    return Ok(());
                }
                Output::Transmit(transmit) => {
                    self.transmits.push(Transmit { destination: transmit.destination, bytes: transmit.contents.into() })
                }
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        let events = &mut self.events;
        match event {
            Event::Connected => events.push(PeerEvent::Connected),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => events.push(PeerEvent::Disconnected),
            Event::ChannelOpen(id, label) => {
                tracing::debug!(name = self.name, %label, "data channel open");
                self.channels.insert(id, label.clone());
                events.push(PeerEvent::ChannelOpen(label));
            }
            Event::ChannelData(data) => match self.channels.get(&data.id) {
                Some(label) => events.push(PeerEvent::Data { label: label.clone(), bytes: data.data }),
                None => tracing::debug!(name = self.name, "data on an unknown channel dropped"),
            },
            Event::ChannelClose(id) => {
                self.channels.remove(&id);
            }
            Event::MediaAdded(media) if media.kind == MediaKind::Audio => {
                // A remote offer's send-receive track carries our voice back (a direct
                // session); a track we offered is already `sending`.
                if media.direction.is_sending() && self.sending.is_none() {
                    self.sending = Some((media.mid, opus_pt(&mut self.rtc, media.mid)));
                }
                if media.direction.is_receiving() {
                    let stream_id = self.rtc.media(media.mid).map(|m| m.stream_id().to_string()).unwrap_or_default();
                    tracing::debug!(name = self.name, mid = %media.mid, %stream_id, "audio track added");
                    events.push(PeerEvent::TrackAdded { mid: media.mid, stream_id });
                }
            }
            Event::MediaAdded(media) => {
                tracing::debug!(name = self.name, mid = %media.mid, kind = ?media.kind, "media not received")
            }
            Event::MediaData(data) => {
                let seq = **data.seq_range.start();
                events.push(PeerEvent::Audio { mid: data.mid, seq, payload: data.data });
            }
            _ => {}
        }
    }

    /// Hangs up gracefully: RTCP BYE, SCTP shutdown (the other side's data channels close) and
    /// DTLS close_notify, queued as transmits at once.
    pub fn close(&mut self, now: Instant) {
        if let Err(error) = self.rtc.close() {
            tracing::debug!(name = self.name, %error, "closing the peer connection");
        }
        let _ = self.drive(now);
    }
}

/// The Opus payload type negotiated for the track `mid`, if any.
fn opus_pt(rtc: &mut Rtc, mid: Mid) -> Option<Pt> {
    rtc.writer(mid).and_then(|writer| writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt()))
}

/// The mid of the first m-line (`a=mid:`), which trickled candidates name.
fn first_mid(sdp: &str) -> String {
    sdp.lines().find_map(|line| line.trim().strip_prefix("a=mid:")).unwrap_or("0").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_init_uses_the_browser_field_names() {
        let init = CandidateInit {
            candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        };
        let json = serde_json::to_value(&init).unwrap();
        assert_eq!(json["sdpMid"], "0");
        assert_eq!(json["sdpMLineIndex"], 0);
        let back: CandidateInit = serde_json::from_str(r#"{"candidate":"candidate:x","sdpMid":"1"}"#).unwrap();
        assert_eq!((back.sdp_mid.as_deref(), back.sdp_m_line_index), (Some("1"), None));
    }

    #[test]
    fn first_mid_reads_the_first_m_line() {
        assert_eq!(first_mid("v=0\r\nm=application 9\r\na=mid:0\r\nm=audio\r\na=mid:1\r\n"), "0");
        assert_eq!(first_mid("v=0\r\n"), "0");
    }

    #[test]
    fn the_socket_address_is_the_host_candidate() {
        let local: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let peer = Peer::new("subscriber", local, Instant::now()).unwrap();
        let init = peer.local_candidate();
        assert!(init.candidate.contains(" 127.0.0.1 50000 typ host"), "{}", init.candidate);
    }
}
