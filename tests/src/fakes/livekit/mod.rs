//! A fake LiveKit control plane: Twirp `RoomService` (`CreateRoom`, `DeleteRoom`, `ListRooms`)
//! and `AgentDispatchService` (`CreateDispatch`) on the real wire.
//!
//! Like the server it
//! - authenticates in a middleware: a bearer JWT whose issuer is the API key, HS256-signed with
//!   its secret, within `nbf`..`exp`; a refusal there is a plain-text 401, not a Twirp error;
//! - checks each method's grant (`roomCreate`, `roomList`, `roomAdmin` for that room) and
//!   answers a missing one with Twirp `unauthenticated` "permissions denied" (401);
//! - decodes `application/protobuf` and `application/json` bodies and answers in the same
//!   encoding; errors are Twirp JSON with Twirp's HTTP statuses (`not_found` 404, ...);
//! - enforces the default limits (room name 256 bytes, metadata 512 KiB), returns an existing
//!   room unchanged on `CreateRoom`, and auto-creates the room on `CreateDispatch`.
//!
//! It records rooms, dispatches and deletions for assertions, and verifies the tokens a test
//! got from the code under test ([`FakeLiveKit::verify`]).
//!
//! `/agent` (the agent-worker WebSocket) is in [`agent`]: dispatches become jobs offered to
//! registered workers.

mod agent;
mod auth;
mod rtc;
mod services;
mod twirp;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use bytes::Bytes;
use livekit_protocol as proto;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use agent::{AgentJob, AgentMessage, AgentTimeouts, AgentWorker};
pub use auth::{Claims, VideoGrants, sign as sign_jwt};
pub use rtc::{DataRecord, RtcParticipant, TextStreamRecord};
pub use services::{SIP_CALL_ID_ATTRIBUTE, SipTransfer};
pub use twirp::TwirpError;

use super::RecordedRequest;
use super::ids::Serial;
use super::server::{self, FakeServer, lock};
use twirp::Encoding;

/// `livekit-server --dev`'s key pair.
pub const DEV_API_KEY: &str = "devkey";
pub const DEV_API_SECRET: &str = "secret";

pub struct FakeLiveKit {
    server: FakeServer,
    project: Arc<Project>,
}

/// One LiveKit project: its key pair and state.
pub(crate) struct Project {
    api_key: String,
    api_secret: String,
    serial: Serial,
    rooms: Mutex<Vec<proto::Room>>,
    dispatches: Mutex<Vec<proto::AgentDispatch>>,
    deleted: Mutex<Vec<String>>,
    agents: agent::Agents,
    /// `/rtc`: the rooms' live participants and what they sent.
    sfu: rtc::Sfu,
    /// `SIP/TransferSIPParticipant` calls that went through.
    sip_transfers: Mutex<Vec<services::SipTransfer>>,
}

async fn allow_any_origin(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, axum::http::HeaderValue::from_static("*"));
    response
}

impl FakeLiveKit {
    /// Starts on `127.0.0.1:0`, accepting tokens signed by `api_key`/`api_secret`.
    pub fn start(api_key: &str, api_secret: &str) -> Self {
        let router = Router::new()
            .route("/twirp/{service}/{method}", any(handle))
            .route("/agent", get(agent::handle))
            .route("/rtc", any(rtc::handle))
            .route("/rtc/validate", get(rtc::validate))
            .route("/rtc/v1", any(rtc::handle_v1))
            .route("/rtc/v1/validate", get(rtc::validate_v1))
            // Browsers call the validate endpoints from the page's origin; LiveKit allows any.
            // Without the header a 404 on `/rtc/v1/validate` looks like an unreachable server
            // to livekit-client, instead of the old server it falls back to `/rtc` for.
            .layer(axum::middleware::map_response(allow_any_origin));
        let (server, project) = server::start(router, |shutdown| Project {
            api_key: api_key.to_string(),
            api_secret: api_secret.to_string(),
            serial: Serial::default(),
            rooms: Mutex::default(),
            dispatches: Mutex::default(),
            deleted: Mutex::default(),
            agents: agent::Agents::new(shutdown),
            sfu: rtc::Sfu::default(),
            sip_transfers: Mutex::default(),
        });
        tokio::spawn(agent::dispatcher(project.clone()));
        Self { server, project }
    }

    /// The project URL as LiveKit hands it out: `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.ws_origin()
    }

    /// `http://127.0.0.1:PORT`, for raw Twirp requests.
    pub fn http_url(&self) -> String {
        self.server.http_origin()
    }

    /// The rooms that exist now, in creation order.
    pub fn rooms(&self) -> Vec<proto::Room> {
        lock(&self.project.rooms).clone()
    }

    pub fn room(&self, name: &str) -> Option<proto::Room> {
        self.rooms().into_iter().find(|r| r.name == name)
    }

    /// Dispatches of rooms that still exist (deleting a room ends its dispatches).
    pub fn dispatches(&self) -> Vec<proto::AgentDispatch> {
        lock(&self.project.dispatches).clone()
    }

    /// The call transfers the SIP service carried out, in order.
    pub fn sip_transfers(&self) -> Vec<services::SipTransfer> {
        lock(&self.project.sip_transfers).clone()
    }

    /// Names of the rooms `DeleteRoom` removed, in order.
    pub fn deleted_rooms(&self) -> Vec<String> {
        lock(&self.project.deleted).clone()
    }

    /// Every HTTP request received, refused ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Checks a token as this server would (signature, issuer, `nbf`/`exp`) and returns its
    /// claims, or the server's refusal text.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        auth::verify(token, &self.project.api_key, &self.project.api_secret).map_err(|refusal| refusal.0)
    }
}

async fn handle(
    State(project): State<Arc<Project>>,
    Path((service, method)): Path<(String, String)>,
    http_method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Authentication wraps every route, so it answers before Twirp looks at the request.
    let claims = match auth::authenticate(&headers, &project.api_key, &project.api_secret) {
        Ok(claims) => claims,
        Err(refusal) => return refusal.into_response(),
    };
    let claims = claims.as_ref();
    let route = (service.as_str(), method.as_str());
    let known = matches!(
        route,
        ("livekit.RoomService", "CreateRoom" | "DeleteRoom" | "ListRooms")
            | ("livekit.AgentDispatchService", "CreateDispatch")
            | ("livekit.SIP", "TransferSIPParticipant")
    );
    if !known {
        return TwirpError::new("bad_route", format!("no handler for path \"/twirp/{service}/{method}\""))
            .into_response();
    }
    if http_method != Method::POST {
        let msg = format!("unsupported method {http_method:?} (only POST is allowed)");
        return TwirpError::new("bad_route", msg).into_response();
    }
    let encoding = match Encoding::of(&headers) {
        Ok(encoding) => encoding,
        Err(error) => return error.into_response(),
    };
    let p = project.as_ref();
    match route {
        (_, "CreateRoom") => call(encoding, &body, |r| services::create_room(p, claims, r)),
        (_, "DeleteRoom") => call(encoding, &body, |r| services::delete_room(p, claims, r)),
        (_, "ListRooms") => call(encoding, &body, |r| services::list_rooms(p, claims, r)),
        (_, "TransferSIPParticipant") => call(encoding, &body, |r| services::transfer_sip_participant(p, claims, r)),
        _ => call(encoding, &body, |r| services::create_dispatch(p, claims, r)),
    }
}

fn call<Req, Resp>(encoding: Encoding, body: &Bytes, method: impl FnOnce(Req) -> Result<Resp, TwirpError>) -> Response
where
    Req: prost::Message + Default + DeserializeOwned,
    Resp: prost::Message + Serialize,
{
    match encoding.decode::<Req>(body).and_then(method) {
        Ok(answer) => encoding.encode(&answer),
        Err(error) => error.into_response(),
    }
}
