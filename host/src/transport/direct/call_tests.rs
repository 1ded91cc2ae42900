//! A direct call against a str0m peer playing the browser, datagrams carried in memory, on
//! virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use super::*;
use crate::audio::opus::{FRAME_SAMPLES, OpusDecoder, OpusEncoder};

const TICK: Duration = Duration::from_millis(5);

/// The browser: a str0m peer that offers a send-receive microphone track and the events
/// channel, as the page does.
struct Browser {
    rtc: Rtc,
    addr: SocketAddr,
    mid: Mid,
    channel: Option<ChannelId>,
    pending: Option<SdpPendingOffer>,
    messages: Vec<String>,
    /// Loud decoded frames of the agent's voice, and packets received.
    heard: (usize, usize),
    decoder: OpusDecoder,
}

impl Browser {
    fn new(now: Instant) -> (Self, String) {
        let addr: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        let mut rtc = Rtc::builder().clear_codecs().enable_opus(true, false).build(now);
        rtc.add_local_candidate(Candidate::host(addr, Protocol::Udp).unwrap());
        let mut changes = rtc.sdp_api();
        let mid = changes.add_media(
            MediaKind::Audio,
            Direction::SendRecv,
            Some("mic".into()),
            Some("mic-track".into()),
            None,
        );
        changes.add_channel(EVENTS_CHANNEL.to_string());
        let (offer, pending) = changes.apply().unwrap();
        // A browser posting at once has gathered nothing yet: no candidates in the offer.
        let sdp: String =
            offer.to_sdp_string().split_inclusive('\n').filter(|l| !l.starts_with("a=candidate:")).collect();
        let browser = Self {
            rtc,
            addr,
            mid,
            channel: None,
            pending: Some(pending),
            messages: Vec::new(),
            heard: (0, 0),
            decoder: OpusDecoder::new().unwrap(),
        };
        (browser, sdp)
    }

    fn accept(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        self.rtc.sdp_api().accept_answer(self.pending.take().unwrap(), answer).unwrap();
    }

    /// Drains the browser's output: datagrams for the call, events kept.
    fn poll(&mut self, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        self.rtc.handle_input(Input::Timeout(now)).unwrap();
        let mut datagrams = Vec::new();
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(_) => return datagrams,
                Output::Transmit(t) => datagrams.push((t.destination, t.contents.into())),
                Output::Event(Event::ChannelOpen(id, _)) => self.channel = Some(id),
                Output::Event(Event::ChannelData(data)) => {
                    self.messages.push(String::from_utf8(data.data).unwrap());
                }
                Output::Event(Event::MediaData(data)) => {
                    self.heard.1 += 1;
                    let loud = self.decoder.decode(&data.data).unwrap().iter().any(|s| s.unsigned_abs() > 1000);
                    self.heard.0 += usize::from(loud);
                }
                Output::Event(_) => {}
            }
        }
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let receive = Receive::new(Protocol::Udp, from, self.addr, bytes).unwrap();
        self.rtc.handle_input(Input::Receive(now, receive)).unwrap();
    }

    /// A message from the page on the events channel.
    fn send(&mut self, message: &str) {
        let id = self.channel.unwrap();
        self.rtc.channel(id).unwrap().write(false, message.as_bytes()).unwrap();
    }

    fn speak(&mut self, now: Instant, media_time: u64, payload: &[u8]) {
        let writer = self.rtc.writer(self.mid).unwrap();
        let pt = writer.payload_params().find(|p| p.spec().codec == Codec::Opus).unwrap().pt();
        writer.write(pt, now, MediaTime::new(media_time, Frequency::FORTY_EIGHT_KHZ), payload).unwrap();
    }
}

/// The call and the browser wired together in memory.
struct Net {
    call: Call,
    browser: Browser,
    local: SocketAddr,
    now: Instant,
    /// Whether datagrams still cross (false: the browser vanished).
    linked: bool,
    microphone: Vec<AudioFrame>,
    presence: Vec<Presence>,
    controls: Vec<TurnControl>,
}

impl Net {
    fn new() -> Self {
        let now = Instant::now();
        let (browser, offer) = Browser::new(now);
        let local: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let (call, answer) = Call::answer(&offer, local, Duration::from_secs(20), 1 << 40, now).unwrap();
        let mut net = Self {
            call,
            browser,
            local,
            now,
            linked: true,
            microphone: Vec::new(),
            presence: Vec::new(),
            controls: Vec::new(),
        };
        net.browser.accept(&answer);
        net
    }

    /// Moves time on by `TICK`, carrying every datagram both ways.
    fn step(&mut self) {
        self.now += TICK;
        let now = self.now;
        if self.call.deadline().is_some_and(|d| d <= now) {
            self.call.timeout(now);
        }
        for (destination, bytes) in self.browser.poll(now) {
            if self.linked && destination == self.local {
                self.call.datagram(self.browser.addr, &bytes, now);
            }
        }
        while let Some(output) = self.call.poll_output() {
            match output {
                CallOutput::Transmit(t) if self.linked => self.browser.receive(now, self.local, &t.bytes),
                CallOutput::Transmit(_) => {}
                CallOutput::Microphone(frame) => self.microphone.push(frame),
                CallOutput::Presence(change) => self.presence.push(change),
                CallOutput::Control(control) => self.controls.push(control),
            }
        }
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let end = self.now + limit;
        while !done(self) {
            assert!(self.now < end, "not done within {limit:?}");
            self.step();
        }
    }
}

fn tone() -> Vec<i16> {
    (0..FRAME_SAMPLES).map(|i| ((i as f64 * 300.0 * std::f64::consts::TAU / 48_000.0).sin() * 9000.0) as i16).collect()
}

#[test]
fn a_browser_connects_is_heard_hears_the_agent_and_gets_every_event_in_order() {
    let mut net = Net::new();
    // An event from before the channel opens waits for it.
    net.call.event(br#"{"type":"agent_state","state":"listening"}"#.to_vec(), net.now);
    let start = net.now;
    net.run_until(Duration::from_secs(5), |n| !n.presence.is_empty() && n.browser.channel.is_some());
    assert_eq!(net.presence, [Presence::UserJoined(DIRECT_USER.into())]);
    // ICE, DTLS and SCTP in a few round trips, no retransmit timer waited on.
    assert!(net.now - start < Duration::from_millis(200), "connected after {:?}", net.now - start);
    net.call.event(br#"{"type":"step_change","stepId":"greet","stepType":"start"}"#.to_vec(), net.now);
    net.run_until(Duration::from_secs(2), |n| n.browser.messages.len() == 2);
    assert_eq!(
        net.browser.messages,
        [
            r#"{"type":"agent_state","state":"listening"}"#,
            r#"{"type":"step_change","stepId":"greet","stepType":"start"}"#
        ]
    );

    // The browser speaks for a second: the call hears it as 20 ms frames at 48 kHz.
    let mut encoder = OpusEncoder::voice(32_000).unwrap();
    let speech = tone();
    for i in 0..50u64 {
        let payload = encoder.encode(&speech).unwrap().to_vec();
        net.browser.speak(net.now, i * FRAME_SAMPLES as u64, &payload);
        for _ in 0..4 {
            net.step();
        }
    }
    net.run_until(Duration::from_secs(1), |n| n.microphone.len() >= 50);
    assert!(net.microphone.iter().all(|f| f.sample_rate() == 48_000 && f.samples().len() == FRAME_SAMPLES));
    let loud = net.microphone.iter().filter(|f| f.samples().iter().any(|s| s.unsigned_abs() > 1000)).count();
    assert!(loud >= 45, "{loud} of 50 frames heard");

    // The agent speaks for a second, paced by its clock: the browser hears it on its track.
    for _ in 0..50 {
        let frame = AudioFrame::new(speech.clone(), 48_000, 1).unwrap();
        net.call.agent_frame(&frame, net.now);
        for _ in 0..4 {
            net.step();
        }
    }
    net.run_until(Duration::from_secs(1), |n| n.browser.heard.0 >= 45);
    // Then silence: a few packets until DTX, then none.
    let packets = net.browser.heard.1;
    for _ in 0..200 {
        net.step();
    }
    let after = net.browser.heard.1 - packets;
    assert!(after < 30, "{after} packets sent in a second of silence");
    assert_eq!(net.call.stats().sent.failures, 0);
}

#[test]
fn the_pages_talk_button_reaches_the_session_and_anything_else_is_ignored() {
    let mut net = Net::new();
    net.run_until(Duration::from_secs(5), |n| n.browser.channel.is_some() && !n.presence.is_empty());
    for message in [r#"{"type":"start_turn"}"#, r#"{"type":"wave"}"#, "hello", r#"{"type":"end_turn"}"#] {
        net.browser.send(message);
    }
    net.run_until(Duration::from_secs(1), |n| n.controls.len() == 2);
    for _ in 0..10 {
        net.step();
    }
    assert_eq!(net.controls, [TurnControl::StartTurn, TurnControl::EndTurn]);
}

#[test]
fn a_browser_that_goes_away_is_a_user_leaving() {
    let mut net = Net::new();
    net.run_until(Duration::from_secs(5), |n| !n.presence.is_empty());
    net.linked = false;
    net.run_until(Duration::from_secs(60), |n| n.presence.len() == 2);
    assert_eq!(net.presence[1], Presence::UserLeft(DIRECT_USER.into()));
}

#[test]
fn a_browser_that_never_connects_closes_the_call_at_the_timeout() {
    let mut net = Net::new();
    net.linked = false;
    let start = net.now;
    net.run_until(Duration::from_secs(30), |n| !n.presence.is_empty());
    assert!(matches!(&net.presence[0], Presence::Closed(reason) if reason.contains("never connected")));
    assert!(net.now - start >= Duration::from_secs(20), "closed at the 20 s timeout, not before");
}

#[test]
fn offers_without_audio_or_that_are_not_sdp_are_refused_with_the_reason() {
    let local: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    let now = Instant::now();
    let no_audio =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    let refused = |offer: &str| match Call::answer(offer, local, Duration::from_secs(20), 0, now) {
        Err(DirectError::InvalidOffer(message)) => message,
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("answered {offer:?}"),
    };
    assert!(refused(no_audio).contains("no audio track"));
    assert!(refused("m=audio hello").contains("bad SDP offer"));
}

#[test]
fn mdns_host_candidates_are_left_out_of_the_offer() {
    let offer = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        a=candidate:1 1 udp 2113937151 0b1c-4e.local 54321 typ host generation 0\r\n\
        a=candidate:2 1 udp 2113937151 192.168.1.5 54322 typ host generation 0\r\n\
        a=mid:0\r\n";
    let kept = without_mdns_candidates(offer);
    assert!(!kept.contains(".local"));
    assert!(kept.contains("192.168.1.5 54322") && kept.ends_with("a=mid:0\r\n"));
}
