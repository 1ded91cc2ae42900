//! A real MCP server over streamable HTTP, built on rmcp's own server side (the reference SDK),
//! with deterministic tools:
//!
//! - `lookup_order {order_id}`: an order's shipping status (`42` is shipped, others processing);
//! - `get_weather {city}`: a fixed forecast naming the city;
//! - `charge_card {amount_cents}`: always answers `isError: true` ("Card declined…");
//! - `wait {millis}`: answers "waited" after sleeping, for timeout tests.
//!
//! The endpoint is `POST/GET/DELETE /mcp` with MCP sessions (`Mcp-Session-Id`), as most hosted
//! servers run it. With [`McpAuth::Bearer`] or [`McpAuth::ApiKey`] every request must carry the
//! credential, or it gets a `401` before reaching MCP: a bearer server answers with a
//! `WWW-Authenticate: Bearer` challenge as the MCP authorization spec asks, an API-key server
//! with a JSON error body. Every HTTP request is recorded ([`McpFake::requests`]) and every
//! tool call with its arguments as received ([`McpFake::tool_calls`]).
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::mcp::{McpAuth, McpFake};
//! let fake = McpFake::start(McpAuth::Bearer("mcp-token".into()));
//! // Point the client at fake.url() ("http://127.0.0.1:PORT/mcp").
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_router};
use serde::Deserialize;

use super::server::{self, FakeServer, RecordedRequest, lock, presented_key};
use super::wire::Reply;

pub const MCP_PATH: &str = "/mcp";

/// The credential the fake requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum McpAuth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `x-api-key: <key>`.
    ApiKey(String),
}

/// One `tools/call` as the server received it.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    pub name: String,
    /// The `arguments` object, `null` when absent.
    pub arguments: serde_json::Value,
}

/// A running MCP fake; dropping it closes its sessions and stops the server.
pub struct McpFake {
    server: FakeServer,
    state: Arc<McpState>,
}

struct McpState {
    calls: Arc<Mutex<Vec<ToolCall>>>,
    rejected: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Gate {
    auth: McpAuth,
    rejected: Arc<AtomicUsize>,
}

impl McpFake {
    /// Starts the fake on `127.0.0.1:0` (inside a tokio runtime).
    pub fn start(auth: McpAuth) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let rejected = Arc::new(AtomicUsize::new(0));
        let config = StreamableHttpServerConfig::default();
        let sessions_end = config.cancellation_token.clone();
        let tools = FakeTools::new(calls.clone());
        let service: StreamableHttpService<FakeTools, LocalSessionManager> =
            StreamableHttpService::new(move || Ok(tools.clone()), Default::default(), config);
        let gate = Gate { auth, rejected: rejected.clone() };
        let router = Router::new()
            .nest_service(MCP_PATH, service)
            .layer(middleware::from_fn_with_state(gate, check_credentials));
        let (server, state) = server::start(router, move |shutdown| {
            // Sessions hold SSE streams open; end them with the fake so shutdown completes.
            let mut shutdown = shutdown;
            tokio::spawn(async move {
                shutdown.signalled().await;
                sessions_end.cancel();
            });
            McpState { calls, rejected }
        });
        McpFake { server, state }
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("{}{MCP_PATH}", self.server.http_origin())
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Every HTTP request, the refused ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Every `tools/call` that reached a tool, in order.
    pub fn tool_calls(&self) -> Vec<ToolCall> {
        lock(&self.state.calls).clone()
    }

    /// How many requests got a `401`.
    pub fn rejected(&self) -> usize {
        self.state.rejected.load(Ordering::Relaxed)
    }
}

async fn check_credentials(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let refusal = match &gate.auth {
        McpAuth::None => None,
        McpAuth::Bearer(token) => (presented_key(headers, "Bearer") != Some(token.as_str())).then(|| {
            let mut reply =
                Reply::json(401, r#"{"error":"invalid_token","error_description":"Missing or invalid access token"}"#);
            reply.set_header("www-authenticate", r#"Bearer error="invalid_token""#.into());
            reply
        }),
        McpAuth::ApiKey(key) => {
            let presented = headers.get("x-api-key").and_then(|value| value.to_str().ok());
            (presented != Some(key.as_str()))
                .then(|| Reply::json(401, r#"{"error":"unauthorized","message":"Invalid or missing x-api-key"}"#))
        }
    };
    match refusal {
        Some(reply) => {
            gate.rejected.fetch_add(1, Ordering::Relaxed);
            reply.into_response(&[])
        }
        None => next.run(request).await,
    }
}

#[derive(Clone)]
struct FakeTools {
    tool_router: ToolRouter<Self>,
    calls: Arc<Mutex<Vec<ToolCall>>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct OrderArgs {
    /// The order number, as the customer reads it.
    order_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WeatherArgs {
    /// City name, e.g. "Lisbon".
    city: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ChargeArgs {
    /// Amount to charge, in cents.
    amount_cents: u64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WaitArgs {
    /// How long to wait before answering.
    millis: u64,
}

impl FakeTools {
    fn new(calls: Arc<Mutex<Vec<ToolCall>>>) -> Self {
        Self { tool_router: Self::tool_router(), calls }
    }
}

#[tool_router]
impl FakeTools {
    #[tool(description = "Look up the shipping status of an order by its number.")]
    fn lookup_order(&self, Parameters(OrderArgs { order_id }): Parameters<OrderArgs>) -> String {
        match order_id.trim() {
            "42" => "Order 42: shipped on 2025-03-02 via UPS, tracking 1Z999AA10123456784, arriving Friday.".into(),
            id => format!("Order {id}: processing, not shipped yet."),
        }
    }

    #[tool(description = "Get today's weather forecast for a city.")]
    fn get_weather(&self, Parameters(WeatherArgs { city }): Parameters<WeatherArgs>) -> String {
        format!("Weather in {city}: 18 °C, light rain, wind 12 km/h.")
    }

    #[tool(description = "Charge the customer's card on file.")]
    fn charge_card(&self, Parameters(ChargeArgs { amount_cents }): Parameters<ChargeArgs>) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(format!(
            "Card declined: insufficient funds for {amount_cents} cents."
        ))])
    }

    #[tool(description = "Wait, then answer.")]
    async fn wait(&self, Parameters(WaitArgs { millis }): Parameters<WaitArgs>) -> String {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        "waited".into()
    }
}

impl ServerHandler for FakeTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("voiceblox-fake-mcp", env!("CARGO_PKG_VERSION")))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.clone().map_or(serde_json::Value::Null, serde_json::Value::Object);
        lock(&self.calls).push(ToolCall { name: request.name.to_string(), arguments });
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult { tools: self.tool_router.list_all(), ..Default::default() })
    }
}
