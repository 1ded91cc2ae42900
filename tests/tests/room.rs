//! The LiveKit room client (host) against the fake SFU: two participants, both on the host's
//! `Room`, exchange data and attributes over real WebSocket signalling and str0m peers.

use std::collections::HashMap;
use std::time::Duration;

use livekit_protocol as proto;
use serde_json::json;
use tokio::sync::mpsc;
use voiceblox_host::audio::AudioFrame;
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::transport::livekit::room::{Room, RoomError, RoomEvent, RoomOptions};
use voiceblox_host::transport::livekit::{ControlPlane, LiveKitCredentials};
use voiceblox_tests::audio::{envelope_match, librivox_48k, rms};
use voiceblox_tests::fakes::livekit::{FakeLiveKit, sign_jwt};
use voiceblox_tests::room_user::speak_into;

const KEY: &str = "APIroom";
const SECRET: &str = "room-secret-abcdefghijklmnopqrstu";
const EVENTS_TOPIC: &str = "voiceblox.agent.events";
const AGENT_CONFIG: &str = r#"{"agentName":"voiceblox","instructions":"be brief"}"#;
/// Every wait in these tests; each finishes in well under a second when things work.
const WAIT: Duration = Duration::from_secs(5);

async fn create_room(livekit: &FakeLiveKit, name: &str, metadata: &str) {
    let credentials = LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(SECRET)).unwrap();
    ControlPlane::new(credentials).create_room(name, metadata).await.unwrap();
}

/// The next event matching `wanted`, skipping others; panics after [`WAIT`].
async fn next_matching(
    events: &mut mpsc::Receiver<RoomEvent>,
    what: &str,
    wanted: impl Fn(&RoomEvent) -> bool,
) -> RoomEvent {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if wanted(&event) {
                return Some(event);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the event stream ended before {what}"),
        Err(_) => panic!("no {what} within {WAIT:?}"),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn options() -> RoomOptions {
    RoomOptions { connect_timeout: WAIT, ..RoomOptions::default() }
}

#[tokio::test]
async fn agent_and_user_share_metadata_data_attributes_and_departure() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    create_room(&livekit, "voiceblox-1-room", AGENT_CONFIG).await;

    let (user, mut user_events) = livekit.join("voiceblox-1-room", "user-1").await.unwrap();
    let (agent, mut agent_events) = livekit.join("voiceblox-1-room", "agent-AJ_1").await.unwrap();
    assert_eq!(agent.name(), "voiceblox-1-room");
    assert_eq!(agent.metadata(), AGENT_CONFIG);
    assert_eq!(agent.local_identity(), "agent-AJ_1");
    assert!(agent.local_sid().starts_with("PA_"), "{}", agent.local_sid());
    let others: Vec<_> = agent.remote_participants().into_iter().map(|p| p.identity).collect();
    assert_eq!(others, ["user-1"]);

    let joined =
        next_matching(&mut user_events, "the agent joining", |e| matches!(e, RoomEvent::ParticipantConnected(_))).await;
    let RoomEvent::ParticipantConnected(info) = joined else { unreachable!() };
    assert_eq!((info.identity.as_str(), info.sid), ("agent-AJ_1", agent.local_sid()));

    // Data: the agent's event reaches the user stamped with the agent's identity.
    let event = br#"{"type":"agent_state","state":"listening"}"#.to_vec();
    agent.publish_data(event.clone(), EVENTS_TOPIC, true).await.unwrap();
    let data = next_matching(&mut user_events, "the agent's data", |e| matches!(e, RoomEvent::Data { .. })).await;
    assert_eq!(
        data,
        RoomEvent::Data {
            participant_identity: "agent-AJ_1".into(),
            topic: Some(EVENTS_TOPIC.into()),
            payload: event.clone(),
            reliable: true,
        }
    );
    let seen = livekit.data_packets();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].sender.as_str(), seen[0].topic.as_deref()), ("agent-AJ_1", Some(EVENTS_TOPIC)));
    assert_eq!(seen[0].payload, event);

    // And the other way, lossy.
    user.publish_data(b"hi".to_vec(), "chat", false).await.unwrap();
    let data = next_matching(&mut agent_events, "the user's data", |e| matches!(e, RoomEvent::Data { .. })).await;
    assert!(
        matches!(&data, RoomEvent::Data { participant_identity, reliable: false, .. } if participant_identity == "user-1"),
        "{data:?}"
    );

    // Attributes: the user sees the agent's state.
    let state = HashMap::from([("lk.agent.state".to_string(), "listening".to_string())]);
    agent.set_attributes(state.clone()).await.unwrap();
    let updated = next_matching(
        &mut user_events,
        "the agent's attributes",
        |e| matches!(e, RoomEvent::ParticipantUpdated(p) if p.attributes.contains_key("lk.agent.state")),
    )
    .await;
    let RoomEvent::ParticipantUpdated(info) = updated else { unreachable!() };
    assert_eq!((info.identity.as_str(), &info.attributes), ("agent-AJ_1", &state));
    assert_eq!(livekit.attribute_history("agent-AJ_1"), std::slice::from_ref(&state));
    let remote = user.remote_participants();
    assert_eq!(remote[0].attributes, state);
    // The server tells the sender too.
    livekit.wait_until("the agent's own update", WAIT, |_| agent.local_participant().attributes == state).await;

    // Leaving: the user sees the agent go; the agent's stream ends with its reason.
    agent.leave().await.unwrap();
    let left =
        next_matching(&mut user_events, "the agent leaving", |e| matches!(e, RoomEvent::ParticipantDisconnected(_)))
            .await;
    let RoomEvent::ParticipantDisconnected(info) = left else { unreachable!() };
    assert_eq!(info.identity, "agent-AJ_1");
    assert_eq!(info.state, proto::participant_info::State::Disconnected as i32);
    assert!(user.remote_participants().is_empty());
    let ended =
        next_matching(&mut agent_events, "the agent's end", |e| matches!(e, RoomEvent::Disconnected { .. })).await;
    assert_eq!(ended, RoomEvent::Disconnected { reason: "CLIENT_INITIATED".into() });
    assert!(matches!(agent.publish_data(vec![1], "t", true).await, Err(RoomError::Disconnected { .. })));
    assert!(!livekit.rtc_participant("agent-AJ_1").unwrap().connected);
    user.leave().await.unwrap();
}

#[tokio::test]
async fn joining_auto_creates_the_room_and_refreshes_the_token() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let token = livekit.participant_token("voiceblox-2-new", "user-2");
    let (room, _events) = Room::connect(&livekit.url(), &token, options()).await.unwrap();
    assert_eq!(room.metadata(), "");
    // The server sends the refresh right after its subscriber offer.
    livekit.wait_until("the refreshed token", WAIT, |_| room.token() != token).await;
    let claims = livekit.verify(&room.token()).unwrap();
    assert_eq!((claims.sub.as_str(), claims.video.room.as_str()), ("user-2", "voiceblox-2-new"));
    assert!(livekit.room("voiceblox-2-new").is_some());
    let joined = livekit.rtc_participant("user-2").unwrap();
    assert_eq!(joined.info.sid, room.local_sid());
    room.leave().await.unwrap();
}

#[tokio::test]
async fn bad_tokens_and_grants_are_refused_like_the_server_does() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let grants = |room_join: bool, room: &str| {
        json!({"iss": KEY, "sub": "probe", "nbf": now(), "exp": now() + 600,
               "video": {"roomJoin": room_join, "room": room}})
    };
    let refused = |result: Result<(Room, mpsc::Receiver<RoomEvent>), RoomError>| match result {
        Err(RoomError::Refused { status, message }) => (status, message),
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, joined"),
    };

    let wrong_secret = sign_jwt(&grants(true, "r"), "not-the-secret");
    let (status, message) = refused(Room::connect(&livekit.url(), &wrong_secret, options()).await);
    assert_eq!(status, 401);
    assert!(message.starts_with("invalid authorization token"), "{message}");

    let expired = sign_jwt(
        &json!({"iss": KEY, "sub": "p", "nbf": now() - 7200, "exp": now() - 3600,
                               "video": {"roomJoin": true, "room": "r"}}),
        SECRET,
    );
    let (status, message) = refused(Room::connect(&livekit.url(), &expired, options()).await);
    assert_eq!((status, message.contains("token is expired")), (401, true), "{message}");

    let no_join = sign_jwt(&grants(false, "r"), SECRET);
    assert_eq!(refused(Room::connect(&livekit.url(), &no_join, options()).await), (401, "permissions denied".into()));

    let no_room = sign_jwt(&grants(true, ""), SECRET);
    assert_eq!(refused(Room::connect(&livekit.url(), &no_room, options()).await), (400, "no room name".into()));

    let unknown_key = sign_jwt(
        &json!({"iss": "APIother", "sub": "p", "exp": now() + 60, "video": {"roomJoin": true, "room": "r"}}),
        SECRET,
    );
    assert_eq!(refused(Room::connect(&livekit.url(), &unknown_key, options()).await), (401, "invalid API key".into()));
    assert!(livekit.rtc_participants().is_empty());
}

#[tokio::test]
async fn the_keepalive_pings_and_a_silent_server_ends_the_session() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    livekit.set_ping(1, 2);
    let (room, mut events) = livekit.join("voiceblox-3-ping", "agent-ping").await.unwrap();
    livekit.wait_until("two pings", WAIT, |fake| fake.pings_from("agent-ping") >= 2).await;

    livekit.answer_pings(false);
    let ended = next_matching(&mut events, "the ping timeout", |e| matches!(e, RoomEvent::Disconnected { .. })).await;
    let RoomEvent::Disconnected { reason } = ended else { unreachable!() };
    assert!(reason.contains("ping timeout"), "{reason}");
    assert!(matches!(room.set_attributes(HashMap::new()).await, Err(RoomError::Disconnected { .. })));
}

#[tokio::test]
async fn payloads_of_64000_bytes_or_more_are_refused() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let (room, _events) = livekit.join("voiceblox-4-big", "agent-big").await.unwrap();
    let error = room.publish_data(vec![b'x'; 64_000], EVENTS_TOPIC, true).await.unwrap_err();
    assert_eq!(error, RoomError::PayloadTooLarge { size: 64_000, max: 64_000 });
    room.publish_data(vec![b'x'; 63_000], EVENTS_TOPIC, true).await.unwrap();
    livekit.wait_until("the large packet", WAIT, |fake| fake.data_packets().len() == 1).await;
    assert_eq!(livekit.data_packets()[0].payload.len(), 63_000);
    room.leave().await.unwrap();
}

#[tokio::test]
async fn a_malformed_frame_makes_the_server_close_the_socket() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let livekit = FakeLiveKit::start(KEY, SECRET);
    let token = livekit.participant_token("voiceblox-5-bad", "probe");
    let url = format!("{}/rtc?sdk=rust&protocol=16&access_token={token}", livekit.url());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let Some(Ok(Message::Binary(first))) = socket.next().await else { panic!("no join") };
    let first: proto::SignalResponse = prost::Message::decode(first.as_ref()).unwrap();
    assert!(matches!(first.message, Some(proto::signal_response::Message::Join(_))));
    socket.send(Message::Binary(vec![0xff, 0xff, 0xff].into())).await.unwrap();
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(frame) = socket.next().await {
            if matches!(frame, Ok(Message::Close(_)) | Err(_)) {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the socket open");
    livekit.wait_until("the departure", WAIT, |fake| fake.rtc_participant("probe").is_some_and(|p| !p.connected)).await;
}

/// The next `count` frames of `input`, joined.
async fn hear(input: &mut mpsc::Receiver<AudioFrame>, count: usize) -> Vec<i16> {
    let mut heard = Vec::new();
    for _ in 0..count {
        let frame = tokio::time::timeout(WAIT, input.recv()).await.expect("audio stopped").expect("audio ended");
        assert_eq!((frame.sample_rate(), frame.channels()), (48_000, 1));
        heard.extend(frame.samples());
    }
    heard
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_crosses_the_sfu_as_opus_both_ways_at_once() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    create_room(&livekit, "voiceblox-audio", AGENT_CONFIG).await;
    let (user, _user_events) = livekit.join("voiceblox-audio", "user-1").await.unwrap();
    let (agent, _agent_events) = livekit.join("voiceblox-audio", "agent-AJ_1").await.unwrap();

    // The agent listens to the first user; the user names whom to hear.
    let mut agent_audio = agent.start_audio(None).await.unwrap();
    let mut user_audio = user.start_audio(Some("agent-AJ_1".into())).await.unwrap();
    livekit
        .wait_until("both tracks published", WAIT, |lk| {
            lk.published_tracks("agent-AJ_1").len() == 1 && lk.published_tracks("user-1").len() == 1
        })
        .await;
    let track = &livekit.published_tracks("agent-AJ_1")[0];
    assert_eq!((track.r#type, track.source), (proto::TrackType::Audio as i32, proto::TrackSource::Microphone as i32));
    assert!(track.sid.starts_with("TR_"), "{}", track.sid);

    // Both talk at once. Each hears the other's speech, shaped as it was said, after the
    // silence since its track started (up to 2 s on a slow machine).
    let speech = librivox_48k();
    let frames = speech.len() / 960;
    tokio::spawn(speak_into(user_audio.output.clone(), speech.clone()));
    tokio::spawn(speak_into(agent_audio.output.clone(), speech.clone()));
    let (heard_by_agent, heard_by_user) =
        tokio::join!(hear(&mut agent_audio.input, frames + 100), hear(&mut user_audio.input, frames + 100));
    let (lag, r) = envelope_match(&speech, &heard_by_agent, 960, 100);
    assert!(r > 0.9, "the agent heard the user with envelope correlation {r:.3} (lag {lag} frames)");
    let (lag, r) = envelope_match(&speech, &heard_by_user, 960, 100);
    assert!(r > 0.9, "the user heard the agent with envelope correlation {r:.3} (lag {lag} frames)");
    assert!(rms(&heard_by_user) > 0.3 * rms(&speech), "the agent's speech arrives at its level");

    user.leave().await.unwrap();
    agent.leave().await.unwrap();
}
