//! The LiveKit control plane (host) against the fake, and the fake's own fidelity: the grant
//! each method needs, the middleware's plain-text refusals, Twirp's JSON errors and encodings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::transport::livekit::{AGENT_NAME, ControlError, ControlPlane, LiveKitCredentials};
use voiceblox_tests::fakes::livekit::{FakeLiveKit, sign_jwt};

const KEY: &str = "APIcontrol";
const SECRET: &str = "control-secret-abcdefghijklmnop";

fn plane(livekit: &FakeLiveKit, key: &str, secret: &str) -> ControlPlane {
    ControlPlane::new(LiveKitCredentials::new(&livekit.url(), key, Secret::new(secret)).unwrap())
}

fn token(grants: VideoGrants) -> String {
    AccessToken::with_api_key(KEY, SECRET).with_identity("probe").with_grants(grants).to_jwt().unwrap()
}

async fn twirp(
    livekit: &FakeLiveKit,
    method: &str,
    auth: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, String, Vec<u8>) {
    let mut request = voiceblox_tests::http_client()
        .post(format!("{}/twirp/{method}", livekit.http_url()))
        .header("content-type", content_type)
        .body(body);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, content_type, response.bytes().await.unwrap().to_vec())
}

fn twirp_error(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn rooms_and_dispatches_round_trip_through_the_control_plane() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let control = plane(&livekit, KEY, SECRET);
    let room = control.create_room("voiceblox-1-abc", r#"{"agentName":"a"}"#).await.unwrap();
    assert!(room.sid.starts_with("RM_") && room.name == "voiceblox-1-abc");
    assert_eq!(livekit.room("voiceblox-1-abc").unwrap().metadata, r#"{"agentName":"a"}"#);

    let dispatch = control.create_dispatch("voiceblox-1-abc", AGENT_NAME, "").await.unwrap();
    assert!(dispatch.id.starts_with("AD_"));
    assert_eq!(livekit.dispatches(), [dispatch]);

    control.delete_room("voiceblox-1-abc").await.unwrap();
    assert_eq!(livekit.deleted_rooms(), ["voiceblox-1-abc"]);
    let again = control.delete_room("voiceblox-1-abc").await.unwrap_err();
    assert_eq!(again, ControlError::NotFound { call: "DeleteRoom", message: "requested room does not exist".into() });
}

#[tokio::test]
async fn refusals_become_typed_errors_without_the_secret() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let wrong_secret = plane(&livekit, KEY, "wrong-secret-zyxwvu").create_room("r", "").await.unwrap_err();
    assert!(matches!(wrong_secret, ControlError::Unauthorized { call: "CreateRoom", .. }), "{wrong_secret}");
    assert!(!wrong_secret.to_string().contains("wrong-secret-zyxwvu"));
    let unknown_key = plane(&livekit, "APInobody", SECRET).create_dispatch("r", AGENT_NAME, "").await.unwrap_err();
    assert!(matches!(unknown_key, ControlError::Unauthorized { call: "CreateDispatch", .. }), "{unknown_key}");
    assert!(livekit.rooms().is_empty());

    let oversized = "x".repeat(512 * 1024 + 1);
    let too_big = plane(&livekit, KEY, SECRET).create_room("r", &oversized).await.unwrap_err();
    assert_eq!(
        too_big,
        ControlError::Server {
            call: "CreateRoom",
            code: "invalid_argument".into(),
            message: "metadata size exceeds limits".into()
        }
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let credentials = LiveKitCredentials::new(&format!("ws://127.0.0.1:{port}"), KEY, Secret::new(SECRET)).unwrap();
    let unreachable = ControlPlane::new(credentials).delete_room("r").await.unwrap_err();
    assert!(matches!(unreachable, ControlError::Unreachable { call: "DeleteRoom", .. }), "{unreachable}");
}

#[tokio::test]
async fn each_method_needs_its_grant_and_a_missing_one_is_twirp_unauthenticated() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let create = proto::CreateRoomRequest { name: "a".into(), ..Default::default() }.encode_to_vec();
    let dispatch = |room: &str| {
        proto::CreateAgentDispatchRequest { agent_name: AGENT_NAME.into(), room: room.into(), ..Default::default() }
            .encode_to_vec()
    };
    let bearer = |grants: VideoGrants| format!("Bearer {}", token(grants));
    let protobuf = "application/protobuf";

    // No token at all passes the middleware but no grant check.
    let (status, content_type, body) =
        twirp(&livekit, "livekit.RoomService/CreateRoom", None, protobuf, create.clone()).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::UNAUTHORIZED, "application/json"));
    assert_eq!(twirp_error(&body), json!({"code": "unauthenticated", "msg": "permissions denied"}));

    let join_only = bearer(VideoGrants { room_join: true, room: "a".into(), ..Default::default() });
    let (status, _, _) =
        twirp(&livekit, "livekit.RoomService/CreateRoom", Some(&join_only), protobuf, create.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let creator = bearer(VideoGrants { room_create: true, ..Default::default() });
    let (status, content_type, body) =
        twirp(&livekit, "livekit.RoomService/CreateRoom", Some(&creator), protobuf, create).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, protobuf));
    assert_eq!(proto::Room::decode(body.as_slice()).unwrap().name, "a");
    let list = proto::ListRoomsRequest::default().encode_to_vec();
    let (status, _, _) = twirp(&livekit, "livekit.RoomService/ListRooms", Some(&creator), protobuf, list.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "roomCreate does not allow listing");
    let lister = bearer(VideoGrants { room_list: true, ..Default::default() });
    let (status, _, body) = twirp(&livekit, "livekit.RoomService/ListRooms", Some(&lister), protobuf, list).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(proto::ListRoomsResponse::decode(body.as_slice()).unwrap().rooms.len(), 1);

    // CreateDispatch: roomAdmin for exactly that room.
    let admin_of_a = bearer(VideoGrants { room_admin: true, room: "a".into(), ..Default::default() });
    let method = "livekit.AgentDispatchService/CreateDispatch";
    let (status, _, body) = twirp(&livekit, method, Some(&admin_of_a), protobuf, dispatch("b")).await;
    assert_eq!((status, twirp_error(&body)["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let (status, _, _) = twirp(&livekit, method, Some(&creator), protobuf, dispatch("a")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "roomCreate is not roomAdmin");
    let (status, _, body) = twirp(&livekit, method, Some(&admin_of_a), protobuf, dispatch("a")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(proto::AgentDispatch::decode(body.as_slice()).unwrap().room, "a");
    assert_eq!(livekit.dispatches().len(), 1);
}

#[tokio::test]
async fn the_middleware_refuses_bad_tokens_in_plain_text() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let body = proto::CreateRoomRequest { name: "a".into(), ..Default::default() }.encode_to_vec();
    let grants = VideoGrants { room_create: true, ..Default::default() };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let expired = json!({"iss": KEY, "nbf": now - 600, "exp": now - 300, "video": {"roomCreate": true}});
    let cases = [
        (format!("Basic {}", token(grants.clone())), "invalid authorization header. Must start with Bearer "),
        ("Bearer not.a.jwt".to_string(), "invalid authorization token"),
        (
            format!(
                "Bearer {}",
                AccessToken::with_api_key("APIother", SECRET).with_grants(grants.clone()).to_jwt().unwrap()
            ),
            "invalid API key",
        ),
        (
            format!(
                "Bearer {}",
                AccessToken::with_api_key(KEY, "not-the-secret").with_grants(grants.clone()).to_jwt().unwrap()
            ),
            "invalid authorization token: go-jose/go-jose: error in cryptographic primitive",
        ),
        (
            format!("Bearer {}", sign_jwt(&expired, SECRET)),
            "invalid authorization token: go-jose/go-jose/jwt: validation failed, token is expired (exp)",
        ),
    ];
    for (auth, refusal) in cases {
        let (status, content_type, answer) =
            twirp(&livekit, "livekit.RoomService/CreateRoom", Some(&auth), "application/protobuf", body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth}");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert_eq!(String::from_utf8(answer).unwrap(), refusal);
    }
    assert!(livekit.rooms().is_empty());
    // A token that passes is still good a moment before expiry, within go-jose's leeway.
    let fresh = AccessToken::with_api_key(KEY, SECRET).with_grants(grants).with_ttl(Duration::from_secs(1));
    assert!(livekit.verify(&fresh.to_jwt().unwrap()).is_ok());
}

#[tokio::test]
async fn twirp_json_works_too_and_bad_routes_are_404() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let auth = format!("Bearer {}", token(VideoGrants { room_create: true, ..Default::default() }));
    let json_body = json!({"name": "j", "metadata": "m", "emptyTimeout": 60}).to_string().into_bytes();
    let (status, content_type, body) =
        twirp(&livekit, "livekit.RoomService/CreateRoom", Some(&auth), "application/json", json_body).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/json"));
    let room: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (room["name"].as_str(), room["metadata"].as_str(), room["emptyTimeout"].as_u64()),
        (Some("j"), Some("m"), Some(60))
    );

    let (status, _, body) = twirp(&livekit, "livekit.RoomService/CreateRoom", Some(&auth), "text/plain", vec![]).await;
    assert_eq!((status, twirp_error(&body)["code"].as_str()), (StatusCode::NOT_FOUND, Some("bad_route")));
    let (status, _, body) =
        twirp(&livekit, "livekit.RoomService/Nope", Some(&auth), "application/protobuf", vec![]).await;
    assert_eq!((status, twirp_error(&body)["code"].as_str()), (StatusCode::NOT_FOUND, Some("bad_route")));
    let (status, _, body) =
        twirp(&livekit, "livekit.RoomService/CreateRoom", Some(&auth), "application/protobuf", vec![0xff, 0xff]).await;
    assert_eq!((status, twirp_error(&body)["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed")));
    let get = voiceblox_tests::http_client()
        .get(format!("{}/twirp/livekit.RoomService/ListRooms", livekit.http_url()))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    let delete = proto::DeleteRoomRequest { room: "missing".into() }.encode_to_vec();
    let (status, _, body) =
        twirp(&livekit, "livekit.RoomService/DeleteRoom", Some(&auth), "application/protobuf", delete).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(twirp_error(&body), json!({"code": "not_found", "msg": "requested room does not exist"}));
}
