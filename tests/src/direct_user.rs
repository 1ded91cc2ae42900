//! A browser in a direct session, as a test sees it: a str0m peer that offers what the page
//! offers (a send-receive microphone track and the events data channel), posts the offer to
//! `/api/direct-session` over real HTTP, then talks over real UDP: it speaks into its
//! microphone, records what it hears and collects the agent's events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use voiceblox_host::audio::AudioFrame;
use voiceblox_host::audio::opus::{FRAME_SAMPLES, OpusDecoder, OpusEncoder};
use voiceblox_host::transport::direct::EVENTS_CHANNEL;

use crate::room_user::{AGENT_WAIT, speak_into};

/// A browser's offer, not yet answered.
pub struct BrowserOffer {
    rtc: Rtc,
    pending: SdpPendingOffer,
    socket: UdpSocket,
    mid: Mid,
    /// The SDP to post.
    pub sdp: String,
}

impl BrowserOffer {
    /// Binds a UDP socket on loopback and makes the page's offer (no candidates, as a page
    /// that posts at once has gathered none).
    pub async fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a loopback UDP socket");
        let local = socket.local_addr().expect("the socket's address");
        let mut rtc = Rtc::builder().clear_codecs().enable_opus(true, false).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, Protocol::Udp).expect("a host candidate"));
        let mut changes = rtc.sdp_api();
        let mid =
            changes.add_media(MediaKind::Audio, Direction::SendRecv, Some("mic".into()), Some("mic-1".into()), None);
        changes.add_channel(EVENTS_CHANNEL.to_string());
        let (offer, pending) = changes.apply().expect("an offer");
        let sdp = offer.to_sdp_string().split_inclusive('\n').filter(|l| !l.starts_with("a=candidate:")).collect();
        Self { rtc, pending, socket, mid, sdp }
    }
}

pub struct DirectUser {
    pub session_id: String,
    events: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
    microphone: mpsc::Sender<AudioFrame>,
    /// Opus packets encoded ahead of time, written as they are.
    packets: mpsc::Sender<Arc<[u8]>>,
    heard: Arc<Mutex<Vec<i16>>>,
    voiced: Arc<Mutex<Vec<Instant>>>,
    closed: Arc<AtomicBool>,
}

/// Decoded frames louder than this are the agent's voice, not silence or codec noise.
const VOICED_RMS: f64 = 300.0;

impl DirectUser {
    /// Starts a session at `base` (`http://host:port`) with `body` (`config`, `apiKeys`…) and
    /// the offer added. The server's refusal comes back as its status and JSON.
    pub async fn start(base: &str, mut body: Value) -> Result<Self, (u16, Value)> {
        let offer = BrowserOffer::new().await;
        body["offer"] = json!(offer.sdp);
        let response = crate::http_client()
            .post(format!("{base}/api/direct-session"))
            .json(&body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let started: Value = response.json().await.expect("a JSON answer");
        if status != 200 {
            return Err((status, started));
        }
        let answer = started["answer"].as_str().expect("an answer SDP");
        let BrowserOffer { mut rtc, pending, socket, mid, .. } = offer;
        let answer = SdpAnswer::from_sdp_string(answer).expect("a valid answer");
        rtc.sdp_api().accept_answer(pending, answer).expect("the answer accepted");
        let (events_tx, events) = mpsc::unbounded_channel();
        let (microphone, frames) = mpsc::channel(16);
        let (packets, encoded) = mpsc::channel(16);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let voiced = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let browser = Browser {
            rtc,
            socket,
            mid,
            events: events_tx,
            heard: heard.clone(),
            voiced: voiced.clone(),
            closed: closed.clone(),
        };
        tokio::spawn(browser.run(frames, encoded));
        let session_id = started["sessionId"].as_str().expect("a session id").to_string();
        Ok(Self { session_id, events, seen: Vec::new(), microphone, packets, heard, voiced, closed })
    }

    /// Says `samples` (48 kHz mono) into the microphone on a real 20 ms clock; returns at once.
    pub fn speak(&self, samples: Vec<i16>) {
        tokio::spawn(speak_into(self.microphone.clone(), samples));
    }

    /// Sends Opus packets encoded ahead of time (one per 20 ms, on a real clock); returns at
    /// once. For load tests, where encoding in every browser would cost more than the server.
    pub fn speak_packets(&self, packets: Arc<Vec<Arc<[u8]>>>) {
        let output = self.packets.clone();
        tokio::spawn(async move {
            let mut clock = tokio::time::interval(Duration::from_millis(20));
            for packet in packets.iter() {
                clock.tick().await;
                if output.send(packet.clone()).await.is_err() {
                    return;
                }
            }
        });
    }

    /// What the browser heard so far (48 kHz mono).
    pub fn heard(&self) -> Vec<i16> {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// When each voiced packet of the agent's arrived (decoded at once, no jitter buffer).
    pub fn voiced_at(&self) -> Vec<Instant> {
        self.voiced.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The agent events received so far.
    pub fn events(&mut self) -> &[Value] {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        &self.seen
    }

    /// Waits for an event matching `wanted` (those already received count) and returns it.
    pub async fn until_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + AGENT_WAIT;
        loop {
            if let Some(found) = self.events().iter().find(|e| wanted(e)) {
                return found.clone();
            }
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.seen.push(event),
                Ok(None) => panic!("the call closed before {what}; events so far: {:?}", self.seen),
                Err(_) => panic!("no {what} within {AGENT_WAIT:?}; events so far: {:?}", self.seen),
            }
        }
    }

    /// Waits until the server has hung up (DTLS closed, or the data channel closed).
    pub async fn until_closed(&mut self) {
        let deadline = tokio::time::Instant::now() + AGENT_WAIT;
        while !self.closed.load(Ordering::Relaxed) {
            assert!(tokio::time::Instant::now() < deadline, "the call is still up after {AGENT_WAIT:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

/// The browser's peer, run by one task.
struct Browser {
    rtc: Rtc,
    socket: UdpSocket,
    mid: Mid,
    events: mpsc::UnboundedSender<Value>,
    heard: Arc<Mutex<Vec<i16>>>,
    voiced: Arc<Mutex<Vec<Instant>>>,
    closed: Arc<AtomicBool>,
}

impl Browser {
    async fn run(mut self, mut frames: mpsc::Receiver<AudioFrame>, mut packets: mpsc::Receiver<Arc<[u8]>>) {
        let local = self.socket.local_addr().expect("the socket's address");
        let mut encoder = OpusEncoder::voice(32_000).expect("an Opus encoder");
        let mut decoder = OpusDecoder::new().expect("an Opus decoder");
        let mut media_time = 0u64;
        let mut buffer = vec![0u8; 2048];
        loop {
            let deadline = loop {
                match self.rtc.poll_output() {
                    Ok(Output::Timeout(at)) => break at,
                    Ok(Output::Transmit(t)) => {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                    Ok(Output::Event(event)) => {
                        if !self.on_event(event, &mut decoder) {
                            return self.closed.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(_) => return self.closed.store(true, Ordering::Relaxed),
                }
            };
            if !self.rtc.is_alive() {
                return self.closed.store(true, Ordering::Relaxed);
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            let input = tokio::select! {
                received = self.socket.recv_from(&mut buffer) => match received {
                    Ok((len, source)) => match Receive::new(Protocol::Udp, source, local, &buffer[..len]) {
                        Ok(receive) => Input::Receive(Instant::now(), receive),
                        Err(_) => continue,
                    },
                    Err(_) => continue,
                },
                Some(frame) = frames.recv() => {
                    if let Ok(payload) = encoder.encode(frame.samples()) {
                        self.write(payload, &mut media_time);
                    }
                    continue;
                }
                Some(packet) = packets.recv() => {
                    self.write(&packet, &mut media_time);
                    continue;
                }
                () = tokio::time::sleep(wait) => Input::Timeout(Instant::now()),
            };
            if self.rtc.handle_input(input).is_err() {
                return self.closed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Writes one 20 ms Opus packet of the microphone.
    fn write(&mut self, payload: &[u8], media_time: &mut u64) {
        let Some(writer) = self.rtc.writer(self.mid) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt()) else { return };
        let time = MediaTime::new(*media_time, Frequency::FORTY_EIGHT_KHZ);
        let _ = writer.write(pt, Instant::now(), time, payload);
        *media_time += FRAME_SAMPLES as u64;
    }

    /// Whether the call goes on.
    fn on_event(&mut self, event: Event, decoder: &mut OpusDecoder) -> bool {
        match event {
            Event::ChannelData(data) => match serde_json::from_slice(&data.data) {
                Ok(value) => {
                    let _ = self.events.send(value);
                }
                Err(error) => panic!("an agent event that is not JSON ({error}): {:?}", data.data),
            },
            Event::MediaData(data) => {
                if let Ok(samples) = decoder.decode(&data.data) {
                    if crate::audio::rms(samples) > VOICED_RMS {
                        self.voiced.lock().unwrap_or_else(PoisonError::into_inner).push(Instant::now());
                    }
                    self.heard.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(samples);
                }
            }
            Event::ChannelClose(_) => return false,
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => return false,
            _ => {}
        }
        true
    }
}
