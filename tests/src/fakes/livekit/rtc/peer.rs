//! One server-side peer connection of the fake SFU: a str0m `Rtc` on its own loopback UDP
//! socket. Written apart from the host's peer so that a bug there is not mirrored here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId, Reliability};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

pub(crate) enum SfuEvent {
    Connected,
    ChannelOpen,
    Data {
        label: String,
        bytes: Vec<u8>,
    },
    /// The client offered a track; `track_id` is its msid track id (the `cid` it added).
    TrackAdded {
        mid: Mid,
        track_id: String,
    },
    /// A media frame from the client, as str0m depacketized it.
    Media(Frame),
}

/// One frame of a published track, forwarded as is.
#[derive(Clone)]
pub(crate) struct Frame {
    pub(crate) mid: Mid,
    pub(crate) time: MediaTime,
    pub(crate) network_time: Instant,
    pub(crate) data: Arc<[u8]>,
}

pub(crate) struct SfuPeer {
    rtc: Rtc,
    socket: UdpSocket,
    /// Sends without waiting for tokio to have seen the socket writable.
    sender: std::net::UdpSocket,
    local: SocketAddr,
    events: Vec<SfuEvent>,
    channels: HashMap<ChannelId, String>,
    pending: Option<SdpPendingOffer>,
    /// The msid track id of each m-line the client offered, by mid. Read from the SDP: str0m
    /// replaces an msid whose stream id is `-` (what the Rust/Python SDKs send) with a random one.
    offered_tracks: HashMap<String, String>,
    deadline: Instant,
    buffer: Vec<u8>,
}

impl SfuPeer {
    pub(crate) async fn new() -> Result<Self, String> {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        std_socket.set_nonblocking(true).map_err(|e| e.to_string())?;
        let sender = std_socket.try_clone().map_err(|e| e.to_string())?;
        let socket = UdpSocket::from_std(std_socket).map_err(|e| e.to_string())?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, Protocol::Udp).map_err(|e| e.to_string())?);
        Ok(Self {
            rtc,
            socket,
            sender,
            local,
            events: Vec::new(),
            channels: HashMap::new(),
            pending: None,
            offered_tracks: HashMap::new(),
            deadline: Instant::now(),
            buffer: vec![0; 2048],
        })
    }

    /// A subscriber offer: the first carries the server's own `_reliable` and `_lossy`
    /// channels, configured as LiveKit's transport manager creates them; each of `tracks`
    /// (msid stream id `"<participant_sid>|<track_sid>"`, track id) becomes a send-only audio
    /// m-line, and each of `retired` (tracks unpublished) goes inactive. Returns the offer and
    /// each new track's mid; `None` if nothing changed.
    pub(crate) fn offer(
        &mut self,
        first: bool,
        tracks: &[(String, String)],
        retired: &[Mid],
    ) -> Option<(String, Vec<Mid>)> {
        let mut changes = self.rtc.sdp_api();
        for mid in retired {
            changes.set_direction(*mid, Direction::Inactive);
        }
        if first {
            changes.add_channel_with_config(ChannelConfig {
                label: "_reliable".into(),
                ordered: true,
                ..Default::default()
            });
            changes.add_channel_with_config(ChannelConfig {
                label: "_lossy".into(),
                ordered: false,
                reliability: Reliability::MaxRetransmits { retransmits: 0 },
                ..Default::default()
            });
        }
        let mids = tracks
            .iter()
            .map(|(stream, track)| {
                changes.add_media(
                    MediaKind::Audio,
                    Direction::SendOnly,
                    Some(stream.clone()),
                    Some(track.clone()),
                    None,
                )
            })
            .collect();
        let (offer, pending) = changes.apply()?;
        self.pending = Some(pending);
        Some((offer.to_sdp_string(), mids))
    }

    pub(crate) fn is_offering(&self) -> bool {
        self.pending.is_some()
    }

    /// Forwards a frame on the send-only track `mid` (dropped until it is negotiated).
    pub(crate) fn write(&mut self, mid: Mid, frame: &Frame) {
        let Some(writer) = self.rtc.writer(mid) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt()) else { return };
        if let Err(error) = writer.write(pt, frame.network_time, frame.time, frame.data.clone()) {
            tracing::debug!(%error, "fake SFU: forwarding failed");
        }
    }

    pub(crate) fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let pending = self.pending.take().ok_or("an answer without an offer")?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        self.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string())?;
        self.wake_ice();
        Ok(())
    }

    /// Runs ICE at the next drive, not at its next 50 ms pacing tick: checks that arrived before
    /// the remote credentials are answered at once, as LiveKit's (pion's) agent does.
    fn wake_ice(&mut self) {
        self.deadline = Instant::now();
    }

    pub(crate) fn accept_offer(&mut self, sdp: &str) -> Result<String, String> {
        self.offered_tracks.extend(msid_track_ids(sdp));
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|e| e.to_string())?.to_sdp_string();
        self.wake_ice();
        Ok(answer)
    }

    pub(crate) fn add_remote_candidate(&mut self, sdp: &str) -> Result<(), String> {
        if sdp.trim().is_empty() {
            return Ok(());
        }
        self.rtc.add_remote_candidate(Candidate::from_sdp_string(sdp.trim()).map_err(|e| e.to_string())?);
        self.wake_ice();
        Ok(())
    }

    pub(crate) fn local_candidate(&self) -> String {
        Candidate::host(self.local, Protocol::Udp).map(|c| c.to_sdp_string()).unwrap_or_default()
    }

    pub(crate) fn is_open(&self, label: &str) -> bool {
        self.channels.values().any(|l| l == label)
    }

    pub(crate) fn send(&mut self, label: &str, bytes: &[u8]) -> bool {
        let Some(id) = self.channels.iter().find_map(|(id, l)| (l == label).then_some(*id)) else { return false };
        self.rtc.channel(id).is_some_and(|mut channel| channel.write(true, bytes).is_ok())
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) async fn readable(&self) -> std::io::Result<()> {
        self.socket.readable().await
    }

    pub(crate) fn receive(&mut self, now: Instant) {
        while let Ok((len, source)) = self.socket.try_recv_from(&mut self.buffer) {
            let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &self.buffer[..len]) else { continue };
            let input = Input::Receive(now, receive);
            if self.rtc.accepts(&input)
                && let Err(error) = self.rtc.handle_input(input)
            {
                tracing::debug!(%error, "fake SFU: bad datagram");
            }
            // Drain after every datagram: str0m's DTLS queue holds only a few records.
            if let Err(error) = self.poll() {
                tracing::debug!(%error, "fake SFU: peer output failed");
            }
        }
    }

    pub(crate) fn drive(&mut self, now: Instant) -> Result<Vec<SfuEvent>, String> {
        if now >= self.deadline {
            self.rtc.handle_input(Input::Timeout(now)).map_err(|e| e.to_string())?;
        }
        self.poll()?;
        Ok(std::mem::take(&mut self.events))
    }

    fn poll(&mut self) -> Result<(), String> {
        let events = &mut self.events;
        loop {
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Timeout(deadline) => {
                    self.deadline = deadline;
                    return Ok(());
                }
                Output::Transmit(t) => {
                    let _ = self.sender.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::Connected) => events.push(SfuEvent::Connected),
                Output::Event(Event::ChannelOpen(id, label)) => {
                    self.channels.insert(id, label);
                    events.push(SfuEvent::ChannelOpen);
                }
                Output::Event(Event::ChannelData(data)) => {
                    if let Some(label) = self.channels.get(&data.id) {
                        events.push(SfuEvent::Data { label: label.clone(), bytes: data.data });
                    }
                }
                Output::Event(Event::ChannelClose(id)) => {
                    self.channels.remove(&id);
                }
                Output::Event(Event::MediaAdded(media)) if media.direction == Direction::RecvOnly => {
                    let track_id = self.offered_tracks.get(&media.mid.to_string()).cloned().unwrap_or_default();
                    events.push(SfuEvent::TrackAdded { mid: media.mid, track_id });
                }
                Output::Event(Event::MediaData(data)) => events.push(SfuEvent::Media(Frame {
                    mid: data.mid,
                    time: data.time,
                    network_time: data.network_time,
                    data: data.data,
                })),
                Output::Event(_) => {}
            }
        }
    }
}

/// `a=msid:<stream> <track>` of each m-line, by its `a=mid`.
fn msid_track_ids(sdp: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for section in sdp.split("\nm=").skip(1) {
        let attribute = |name: &str| section.lines().find_map(|l| l.trim().strip_prefix(name).map(str::to_string));
        let mid = attribute("a=mid:");
        let track = attribute("a=msid:").and_then(|msid| msid.split_whitespace().nth(1).map(str::to_string));
        if let (Some(mid), Some(track)) = (mid, track) {
            found.push((mid, track));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn track_ids_come_from_each_m_lines_msid_whatever_its_stream_id() {
        let sdp = "v=0\r\nm=application 9\r\na=mid:0\r\nm=audio 9\r\na=mid:1\r\na=msid:- 22a6-cid\r\n\
                   m=audio 9\r\na=mid:2\r\na=msid:PA_x|TR_y TR_voiceblox\r\n";
        assert_eq!(
            super::msid_track_ids(sdp),
            [("1".to_string(), "22a6-cid".to_string()), ("2".to_string(), "TR_voiceblox".to_string())]
        );
    }
}
