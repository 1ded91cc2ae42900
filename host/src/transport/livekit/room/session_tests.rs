//! The room session on virtual time: no socket, no server, no sleeping. The last test
//! connects the publisher to a str0m peer standing in for the SFU (ICE, DTLS, SCTP) and
//! sends a data packet over it, all on time passed in.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use prost::Message as _;
use proto::signal_request::Message as Request;
use proto::signal_response::Message as Response;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Rtc};

use super::*;

const UNIX: Duration = Duration::from_secs(1_700_000_000);

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn join(subscriber_primary: bool, ping_interval: i32, ping_timeout: i32) -> proto::JoinResponse {
    proto::JoinResponse {
        room: Some(proto::Room { name: "reading-room".into(), metadata: "{}".into(), ..Default::default() }),
        participant: Some(proto::ParticipantInfo {
            sid: "PA_agent".into(),
            identity: "agent".into(),
            version: 1,
            ..Default::default()
        }),
        subscriber_primary,
        ping_interval,
        ping_timeout,
        ..Default::default()
    }
}

fn session(join: proto::JoinResponse, t0: Instant) -> RoomSession {
    let snapshot = Snapshot {
        room: join.room.clone().unwrap_or_default(),
        local: join.participant.clone().unwrap_or_default(),
        token: "token-1".into(),
        ..Default::default()
    };
    let setup = SessionSetup {
        join,
        snapshot,
        publisher_addr: addr("127.0.0.1:40001"),
        subscriber_addr: addr("127.0.0.1:40002"),
        publish_timeout: Duration::from_secs(10),
        unix_time: UNIX,
    };
    RoomSession::new(setup, t0).unwrap()
}

/// Everything the session asks for, up to its next timeout.
fn drain(session: &mut RoomSession) -> (Vec<Output>, Instant) {
    let mut outputs = Vec::new();
    loop {
        match session.poll_output() {
            Output::Timeout(at) => return (outputs, at),
            output => outputs.push(output),
        }
    }
}

fn signals(outputs: &[Output]) -> Vec<&Request> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Signal { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

fn participant(sid: &str, version: u32, state: proto::participant_info::State) -> proto::ParticipantInfo {
    proto::ParticipantInfo {
        sid: sid.into(),
        identity: format!("id-{sid}"),
        version,
        state: state as i32,
        ..Default::default()
    }
}

fn update(participants: Vec<proto::ParticipantInfo>) -> Input {
    Input::Signal(Box::new(Response::Update(proto::ParticipantUpdate { participants })))
}

#[test]
fn pings_go_out_on_the_interval_and_an_unanswered_one_ends_the_session_at_its_timeout() {
    let t0 = Instant::now();
    let mut session = session(join(true, 5, 12), t0);
    let mut pings = Vec::new();
    let mut now = t0;
    let reason = 'run: loop {
        assert!(now - t0 < Duration::from_secs(60), "still running at {:?}", now - t0);
        let (outputs, at) = drain(&mut session);
        for output in outputs {
            match output {
                Output::Signal { message: Request::PingReq(ping), .. } => {
                    pings.push((now - t0, ping.timestamp));
                    // The server answers the first two.
                    if pings.len() <= 2 {
                        let pong = proto::Pong { last_ping_timestamp: ping.timestamp, timestamp: 0 };
                        session.handle_input(Input::Signal(Box::new(Response::PongResp(pong))), now);
                    }
                }
                Output::Finished { reason } => break 'run reason,
                _ => {}
            }
        }
        now = at;
        session.handle_input(Input::Timeout, now);
    };
    assert!(reason.contains("ping timeout"), "{reason}");
    let secs: Vec<u64> = pings.iter().map(|(at, _)| at.as_secs()).collect();
    // A ping every 5 s; the third is the first left unanswered, and 12 s later it is over.
    assert_eq!(secs, [5, 10, 15, 20, 25]);
    assert_eq!(now - t0, Duration::from_secs(27));
    // Each ping carries the wall time it was sent.
    assert_eq!(pings[0].1, (UNIX + Duration::from_secs(5)).as_millis() as i64);
}

#[test]
fn participants_join_change_and_leave_and_stale_updates_are_ignored() {
    use proto::participant_info::State;
    let t0 = Instant::now();
    let mut session = session(join(true, 0, 0), t0);
    drain(&mut session);
    assert!(session.changed_snapshot().is_none());

    session.handle_input(update(vec![participant("PA_user", 1, State::Active)]), t0);
    session.handle_input(update(vec![participant("PA_user", 3, State::Active)]), t0);
    session.handle_input(update(vec![participant("PA_user", 2, State::Active)]), t0);
    let (outputs, _) = drain(&mut session);
    let events: Vec<&Output> = outputs.iter().filter(|o| matches!(o, Output::Event(_))).collect();
    assert!(matches!(
        events[..],
        [Output::Event(RoomEvent::ParticipantConnected(_)), Output::Event(RoomEvent::ParticipantUpdated(_))]
    ));
    assert_eq!(session.changed_snapshot().unwrap().remotes[0].version, 3);

    let mut local = participant("PA_agent", 2, State::Active);
    local.attributes.insert("lk.agent.state".into(), "listening".into());
    session.handle_input(update(vec![local]), t0);
    session.handle_input(Input::Signal(Box::new(Response::RefreshToken("token-2".into()))), t0);
    session.handle_input(update(vec![participant("PA_user", 4, State::Disconnected)]), t0);
    let (outputs, _) = drain(&mut session);
    assert!(matches!(outputs[..], [Output::Event(RoomEvent::ParticipantDisconnected(_))]), "{outputs:?}");
    let snapshot = session.changed_snapshot().unwrap();
    assert!(snapshot.remotes.is_empty());
    assert_eq!(snapshot.local.attributes["lk.agent.state"], "listening");
    assert_eq!(snapshot.token, "token-2");
}

#[test]
fn a_publish_negotiates_the_publisher_and_times_out_exactly_when_its_channel_never_opens() {
    let t0 = Instant::now();
    let mut session = session(join(true, 0, 0), t0);
    let (outputs, _) = drain(&mut session);
    assert!(signals(&outputs).is_empty(), "the subscriber leads: no publisher offer yet");

    let publish = Command::Publish { payload: b"{}".to_vec(), topic: "voiceblox.agent.events".into(), reliable: true };
    session.handle_input(Input::Command(1, publish), t0);
    let (outputs, mut at) = drain(&mut session);
    let sent = signals(&outputs);
    assert!(matches!(sent[..], [Request::Offer(_), Request::Trickle(_)]), "{sent:?}");
    let Request::Trickle(trickle) = sent[1] else { unreachable!() };
    assert!(trickle.candidate_init.contains("127.0.0.1 40001 typ host"), "{}", trickle.candidate_init);

    let mut done = None;
    while done.is_none() {
        session.handle_input(Input::Timeout, at);
        let (outputs, next) = drain(&mut session);
        done = outputs.into_iter().find_map(|o| match o {
            Output::Done { id: 1, result } => Some((at, result)),
            _ => None,
        });
        at = next;
    }
    let (answered_at, result) = done.unwrap();
    assert_eq!(answered_at - t0, Duration::from_secs(10));
    assert!(matches!(result, Err(RoomError::Timeout { .. })), "{result:?}");
}

/// The answer to command `id` among `outputs`, if there.
fn answer(outputs: Vec<Output>, id: CommandId) -> Option<Result<(), RoomError>> {
    outputs.into_iter().find_map(|o| match o {
        Output::Done { id: done, result } if done == id => Some(result),
        _ => None,
    })
}

#[test]
fn starting_audio_adds_a_track_offers_it_once_published_and_times_out_exactly_if_never() {
    let t0 = Instant::now();
    let mut session = session(join(true, 0, 0), t0);
    drain(&mut session);
    session.handle_input(Input::Command(1, Command::StartAudio { listen_to: None }), t0);
    let (outputs, _) = drain(&mut session);
    let sent = signals(&outputs);
    let [Request::AddTrack(add)] = sent[..] else { panic!("{sent:?}") };
    let add = add.clone();
    assert_eq!((add.r#type, add.source), (proto::TrackType::Audio as i32, proto::TrackSource::Microphone as i32));
    assert!(answer(outputs, 1).is_none(), "answered only once the server accepts the track");

    // The server accepts it: the publisher offers a send-only Opus m-line named by the cid.
    let track = proto::TrackInfo { sid: "TR_agent".into(), ..Default::default() };
    let published = proto::TrackPublishedResponse { cid: add.cid.clone(), track: Some(track) };
    session.handle_input(Input::Signal(Box::new(Response::TrackPublished(published))), t0 + Duration::from_millis(5));
    let (outputs, _) = drain(&mut session);
    let sent = signals(&outputs);
    let Some(Request::Offer(offer)) = sent.first() else { panic!("{sent:?}") };
    let sdp = offer.sdp.clone();
    let audio = sdp.split("m=").find(|m| m.starts_with("audio")).expect("an audio m-line");
    assert!(audio.contains("a=sendonly") && audio.to_lowercase().contains("opus/48000/2"), "{audio}");
    assert!(audio.contains(&format!("a=msid:PA_agent|TR_agent {}", add.cid)), "{audio}");
    assert!(matches!(answer(outputs, 1), Some(Ok(()))));

    // A second start is refused; a server that never answers times the start out exactly.
    session.handle_input(Input::Command(2, Command::StartAudio { listen_to: None }), t0 + Duration::from_millis(6));
    assert!(matches!(answer(drain(&mut session).0, 2), Some(Err(RoomError::Protocol(_)))));
    let mut silent = session_at(t0);
    drain(&mut silent);
    silent.handle_input(Input::Command(7, Command::StartAudio { listen_to: None }), t0);
    let (_, mut at) = drain(&mut silent);
    let result = loop {
        silent.handle_input(Input::Timeout, at);
        let (outputs, next) = drain(&mut silent);
        if let Some(result) = answer(outputs, 7) {
            break result;
        }
        at = next;
    };
    assert_eq!(at - t0, Duration::from_secs(10));
    assert!(matches!(result, Err(RoomError::Timeout { what: "publish the agent's audio track", .. })), "{result:?}");
}

fn session_at(t0: Instant) -> RoomSession {
    session(join(true, 0, 0), t0)
}

#[test]
fn leaving_says_goodbye_closes_and_answers_and_a_server_leave_gives_its_reason() {
    let t0 = Instant::now();
    let mut session = session(join(true, 0, 0), t0);
    drain(&mut session);
    session.handle_input(Input::Command(7, Command::Leave), t0);
    let (outputs, _) = drain(&mut session);
    let kinds: Vec<&str> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Signal { message: Request::Leave(_), .. } => Some("leave"),
            Output::CloseSignalling => Some("close"),
            Output::Primary(PrimaryState::Ended) => Some("ended"),
            Output::Event(RoomEvent::Disconnected { reason }) if reason == "CLIENT_INITIATED" => Some("disconnected"),
            Output::Done { id: 7, result: Ok(()) } => Some("done"),
            Output::Finished { .. } => Some("finished"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["leave", "close", "ended", "disconnected", "done", "finished"]);
    assert!(session.is_finished());
    session.handle_input(Input::Command(8, Command::Leave), t0);
    assert!(drain(&mut session).0.is_empty(), "nothing after the end");

    let mut session = session_at(t0);
    let leave = proto::LeaveRequest { reason: proto::DisconnectReason::RoomDeleted as i32, ..Default::default() };
    session.handle_input(Input::Signal(Box::new(Response::Leave(leave))), t0);
    let (outputs, _) = drain(&mut session);
    assert!(signals(&outputs).is_empty(), "no goodbye to a server that said goodbye");
    assert!(outputs.contains(&Output::Event(RoomEvent::Disconnected { reason: "ROOM_DELETED".into() })));
}

/// The SFU's side of the publisher connection: a str0m peer at a made-up address.
struct Sfu {
    rtc: Rtc,
    addr: SocketAddr,
    labels: Vec<(str0m::channel::ChannelId, String)>,
    received: Vec<(String, Vec<u8>)>,
}

const PUBLISHER: &str = "127.0.0.1:40001";

/// One step on virtual time: each side's datagrams to the other; when nothing crossed, the
/// clock moves to the earlier of the two timeouts. The session's other outputs are returned.
fn progress(session: &mut RoomSession, sfu: &mut Sfu, now: &mut Instant) -> Vec<Output> {
    let mut outputs = Vec::new();
    let session_at = loop {
        match session.poll_output() {
            Output::Timeout(at) => break at,
            Output::Transmit { role: PeerRole::Publisher, transmit } => {
                let receive = Receive::new(Protocol::Udp, addr(PUBLISHER), sfu.addr, &transmit.bytes).unwrap();
                sfu.rtc.handle_input(str0m::Input::Receive(*now, receive)).unwrap();
            }
            other => outputs.push(other),
        }
    };
    let mut crossed = false;
    let sfu_at = loop {
        match sfu.rtc.poll_output().unwrap() {
            str0m::Output::Timeout(at) => break at,
            str0m::Output::Transmit(t) => {
                crossed = true;
                session.handle_datagram(PeerRole::Publisher, sfu.addr, &t.contents, *now);
            }
            str0m::Output::Event(Event::ChannelOpen(id, label)) => sfu.labels.push((id, label)),
            str0m::Output::Event(Event::ChannelData(data)) => {
                let label = sfu.labels.iter().find(|(id, _)| *id == data.id).map(|(_, l)| l.clone());
                sfu.received.push((label.unwrap_or_default(), data.data));
            }
            str0m::Output::Event(_) => {}
        }
    };
    if !crossed {
        *now = (*now).max(session_at.min(sfu_at));
        session.handle_input(Input::Timeout, *now);
        sfu.rtc.handle_input(str0m::Input::Timeout(*now)).unwrap();
    }
    outputs
}

#[test]
fn the_publisher_connects_to_a_webrtc_peer_and_carries_a_data_packet_on_virtual_time() {
    let started = Instant::now();
    let t0 = Instant::now();
    let mut session = session(join(false, 0, 0), t0);
    let (outputs, _) = drain(&mut session);
    let sent = signals(&outputs);
    let (Request::Offer(offer), Request::Trickle(trickle)) = (sent[0], sent[1]) else { panic!("{sent:?}") };

    // The SFU answers the offer and trickles its candidate, as LiveKit does.
    let mut sfu = Sfu { rtc: Rtc::builder().build(t0), addr: addr("127.0.0.1:7882"), labels: vec![], received: vec![] };
    sfu.rtc.add_local_candidate(Candidate::host(sfu.addr, Protocol::Udp).unwrap());
    let offer = str0m::change::SdpOffer::from_sdp_string(&offer.sdp).unwrap();
    let answer = sfu.rtc.sdp_api().accept_offer(offer).unwrap();
    let ours: CandidateInit = serde_json::from_str(&trickle.candidate_init).unwrap();
    sfu.rtc.add_remote_candidate(Candidate::from_sdp_string(&ours.candidate).unwrap());
    let answer = signal::session_description("answer", answer.to_sdp_string());
    session.handle_input(Input::Signal(Box::new(Response::Answer(answer))), t0);
    let theirs = CandidateInit {
        candidate: Candidate::host(sfu.addr, Protocol::Udp).unwrap().to_sdp_string(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    let trickle = proto::TrickleRequest {
        candidate_init: serde_json::to_string(&theirs).unwrap(),
        target: proto::SignalTarget::Publisher as i32,
        ..Default::default()
    };
    session.handle_input(Input::Signal(Box::new(Response::Trickle(trickle))), t0);

    let mut now = t0;
    let mut answered = None;
    while sfu.received.is_empty() {
        assert!(now - t0 < Duration::from_secs(30), "no data packet after {:?} of virtual time", now - t0);
        for output in progress(&mut session, &mut sfu, &mut now) {
            match output {
                // Connected: the primary (here the publisher) is up; publish on it.
                Output::Primary(PrimaryState::Connected) => {
                    let publish =
                        Command::Publish { payload: b"hello".to_vec(), topic: "greetings".into(), reliable: true };
                    session.handle_input(Input::Command(1, publish), now);
                }
                Output::Done { id: 1, result } => answered = Some(result),
                _ => {}
            }
        }
    }
    assert_eq!(answered, Some(Ok(())));
    let (label, bytes) = &sfu.received[0];
    assert_eq!(label, "_reliable");
    let packet = proto::DataPacket::decode(bytes.as_slice()).unwrap();
    assert_eq!(packet.participant_identity, "agent");
    let Some(proto::data_packet::Value::User(user)) = packet.value else { panic!("{packet:?}") };
    assert_eq!((user.payload.as_slice(), user.topic.as_deref()), (&b"hello"[..], Some("greetings")));
    // ICE, DTLS and SCTP on virtual time: no waiting on a real clock.
    assert!(started.elapsed() < Duration::from_secs(20));
}
