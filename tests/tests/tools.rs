//! The LLM tools against faithful local servers: MCP sessions over streamable HTTP with a real
//! MCP server (rmcp's server side), and Exa search against a fake of `POST /search`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use voiceblox_host::config::secret::ApiKey;
use voiceblox_host::config::tools::{ExaConfig, McpAuthType, McpServerConfig};
use voiceblox_host::egress::{Egress, HostPattern, NetworkPolicy};
use voiceblox_host::flow::tools::exa::ExaSearch;
use voiceblox_host::flow::tools::mcp::{McpServer, McpTimeouts};
use voiceblox_host::flow::tools::{ToolError, ToolSpec};
use voiceblox_tests::fakes::exa::{ExaFake, ExaPage};
use voiceblox_tests::fakes::mcp::{McpAuth, McpFake, ToolCall};

/// The way out the session would have under `policy`.
fn egress(policy: NetworkPolicy) -> Egress {
    Egress::new(std::sync::Arc::new(policy), Default::default()).expect("egress")
}

/// The operator's word that loopback may be reached (the fakes listen there).
fn loopback_allowed() -> NetworkPolicy {
    NetworkPolicy::default().allow(HostPattern::parse("127.0.0.1").expect("pattern"))
}

fn server(url: String, auth_type: McpAuthType, auth_value: Option<&str>) -> McpServerConfig {
    McpServerConfig { server_url: url, auth_type, auth_value: auth_value.map(ApiKey::new), selected_tools: None }
}

async fn connect(config: &McpServerConfig) -> Result<McpServer, ToolError> {
    McpServer::connect(config, &egress(loopback_allowed()), McpTimeouts::default()).await
}

fn names(tools: &[ToolSpec]) -> BTreeSet<&str> {
    tools.iter().map(|tool| tool.name.as_str()).collect()
}

#[tokio::test]
async fn mcp_lists_every_tool_or_only_the_selected_ones() {
    let fake = McpFake::start(McpAuth::None);
    let mut config = server(fake.url(), McpAuthType::None, None);

    let all = connect(&config).await.expect("connect");
    let tools = all.tools();
    assert_eq!(names(&tools), BTreeSet::from(["charge_card", "get_weather", "lookup_order", "wait"]));
    let lookup = tools.iter().find(|tool| tool.name == "lookup_order").expect("lookup_order");
    assert_eq!(lookup.description, "Look up the shipping status of an order by its number.");
    assert_eq!(lookup.parameters["type"], "object");
    assert_eq!(lookup.parameters["properties"]["order_id"]["type"], "string");
    assert_eq!(lookup.parameters["required"], json!(["order_id"]));

    config.selected_tools = Some(vec!["get_weather".into(), "lookup_order".into(), "not_on_server".into()]);
    let selected = connect(&config).await.expect("connect");
    assert_eq!(names(&selected.tools()), BTreeSet::from(["get_weather", "lookup_order"]));
    // A tool the server has but the agent did not select is never called.
    let err = selected.call("charge_card", json!({"amount_cents": 100})).await.unwrap_err();
    assert_eq!(err, ToolError::UnknownTool("charge_card".into()));

    config.selected_tools = Some(vec![]);
    assert!(connect(&config).await.expect("connect").tools().is_empty());
    assert!(fake.tool_calls().is_empty());

    // The session spoke MCP over HTTP: an initialize POST, with no credential configured.
    let first = &fake.requests()[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.json().expect("json")["method"], "initialize");
    assert!(fake.requests().iter().all(|r| r.header("authorization").is_none() && r.header("x-api-key").is_none()));
    all.close().await;
}

#[tokio::test]
async fn mcp_calls_return_the_tool_text() {
    let fake = McpFake::start(McpAuth::None);
    let mcp = connect(&server(fake.url(), McpAuthType::None, None)).await.expect("connect");

    let text = mcp.call("lookup_order", json!({"order_id": "42"})).await.expect("call");
    assert_eq!(text, "Order 42: shipped on 2025-03-02 via UPS, tracking 1Z999AA10123456784, arriving Friday.");
    let text = mcp.call("get_weather", json!({"city": "Lisbon"})).await.expect("call");
    assert_eq!(text, "Weather in Lisbon: 18 °C, light rain, wind 12 km/h.");

    assert_eq!(
        fake.tool_calls(),
        vec![
            ToolCall { name: "lookup_order".into(), arguments: json!({"order_id": "42"}) },
            ToolCall { name: "get_weather".into(), arguments: json!({"city": "Lisbon"}) },
        ]
    );
    let err = mcp.call("get_weather", json!(["Lisbon"])).await.unwrap_err();
    assert!(matches!(err, ToolError::BadArguments { .. }), "{err}");
    assert_eq!(fake.tool_calls().len(), 2, "bad arguments never reach the server");
}

#[tokio::test]
async fn mcp_error_results_and_slow_tools_fail_the_call() {
    let fake = McpFake::start(McpAuth::None);
    let timeouts = McpTimeouts { call: Duration::from_secs(1), ..McpTimeouts::default() };
    let config = server(fake.url(), McpAuthType::None, None);
    let mcp = McpServer::connect(&config, &egress(loopback_allowed()), timeouts).await.expect("connect");

    let err = mcp.call("charge_card", json!({"amount_cents": 1250})).await.unwrap_err();
    assert_eq!(
        err,
        ToolError::Failed {
            tool: "charge_card".into(),
            message: "Card declined: insufficient funds for 1250 cents.".into()
        }
    );

    let err = mcp.call("wait", json!({"millis": 4000})).await.unwrap_err();
    assert_eq!(err, ToolError::Timeout { tool: "wait".into(), seconds: 1 });
    // The session survives a timed-out call.
    assert!(mcp.call("get_weather", json!({"city": "Oslo"})).await.expect("call").contains("Oslo"));
}

#[tokio::test]
async fn mcp_bearer_token_reaches_the_server() {
    let fake = McpFake::start(McpAuth::Bearer("tok-right-7731".into()));
    let mcp = connect(&server(fake.url(), McpAuthType::Bearer, Some("tok-right-7731"))).await.expect("connect");
    assert!(mcp.call("lookup_order", json!({"order_id": "7"})).await.expect("call").starts_with("Order 7:"));
    assert_eq!(fake.rejected(), 0);
    assert!(fake.requests().iter().all(|r| r.header("authorization") == Some("Bearer tok-right-7731")));

    let err = connect(&server(fake.url(), McpAuthType::Bearer, Some("tok-wrong-1234"))).await.unwrap_err();
    let ToolError::Connect { server, message } = &err else { panic!("{err}") };
    assert_eq!(server, &fake.url());
    assert!(message.contains("401"), "{message}");
    assert!(!err.to_string().contains("tok-wrong-1234"), "{err}");
    assert_eq!(fake.rejected(), 1);
}

#[tokio::test]
async fn mcp_api_key_reaches_the_server() {
    let fake = McpFake::start(McpAuth::ApiKey("mcp-key-5512".into()));
    let mcp = connect(&server(fake.url(), McpAuthType::ApiKey, Some("mcp-key-5512"))).await.expect("connect");
    assert_eq!(mcp.tools().len(), 4);
    assert!(mcp.call("get_weather", json!({"city": "Rome"})).await.is_ok());
    assert!(fake.requests().iter().all(|r| r.header("x-api-key") == Some("mcp-key-5512")));
    assert!(fake.requests().iter().all(|r| r.header("authorization").is_none()));

    let err = connect(&server(fake.url(), McpAuthType::ApiKey, Some("mcp-key-0000"))).await.unwrap_err();
    assert!(matches!(err, ToolError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    assert!(!err.to_string().contains("mcp-key-0000"), "{err}");

    let err = connect(&server(fake.url(), McpAuthType::ApiKey, None)).await.unwrap_err();
    assert!(err.to_string().contains("needs an authValue"), "{err}");
}

#[tokio::test]
async fn mcp_server_down_is_a_connect_error() {
    // A port that was just free: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let url = format!("http://{addr}/mcp");
    let err = connect(&server(url.clone(), McpAuthType::None, None)).await.unwrap_err();
    let ToolError::Connect { server, message } = &err else { panic!("{err}") };
    assert_eq!(server, &url);
    assert!(message.to_lowercase().contains("connect"), "{message}");
}

#[tokio::test]
async fn mcp_private_addresses_need_the_operator() {
    let fake = McpFake::start(McpAuth::None);
    let config = server(fake.url(), McpAuthType::None, None);

    // A literal loopback address, refused before any connection.
    let err = McpServer::connect(&config, &egress(NetworkPolicy::default()), McpTimeouts::default()).await.unwrap_err();
    let ToolError::Denied(message) = &err else { panic!("{err}") };
    assert!(message.contains("non-public address 127.0.0.1"), "{message}");

    // A name resolving to loopback, refused by the resolver.
    let by_name = server(format!("http://localhost:{}/mcp", fake.addr().port()), McpAuthType::None, None);
    let err =
        McpServer::connect(&by_name, &egress(NetworkPolicy::default()), McpTimeouts::default()).await.unwrap_err();
    let ToolError::Denied(message) = &err else { panic!("{err}") };
    assert!(message.contains("localhost resolves to the non-public address"), "{message}");
    assert!(fake.requests().is_empty(), "nothing reached the server");

    // Allowed by name, the same server works.
    let policy = NetworkPolicy::default().allow(HostPattern::parse("localhost").expect("pattern"));
    let mcp = McpServer::connect(&by_name, &egress(policy), McpTimeouts::default()).await.expect("connect");
    assert_eq!(mcp.tools().len(), 4);

    let err = connect(&server("file:///etc/passwd".into(), McpAuthType::None, None)).await.unwrap_err();
    assert!(matches!(err, ToolError::Denied(_)), "{err}");
}

fn pages() -> Vec<ExaPage> {
    vec![
        ExaPage::new(
            "The Rust Programming Language",
            "https://doc.rust-lang.org/book/",
            "Welcome to The Rust Programming Language, an introductory book about Rust.",
        ),
        ExaPage::new("Rust (programming language) - Wikipedia", "https://en.wikipedia.org/wiki/Rust", "Rust is a..."),
        ExaPage::new("Third", "https://third.example/", "Not asked for."),
    ]
}

#[tokio::test]
async fn exa_search_returns_titles_and_urls() {
    let fake = ExaFake::start(Some("exa-key-9911"), pages());
    let config = ExaConfig { api_key: Some(ApiKey::new("exa-key-9911")), num_results: Some(2) };
    let no_env = |_: &str| None;
    let exa = ExaSearch::new(&config, &no_env, Some(&fake.base_url()), &egress(loopback_allowed())).expect("exa");

    let text = exa.call(json!({"query": "rust book"})).await.expect("search");
    assert_eq!(
        text,
        "1. The Rust Programming Language\n   https://doc.rust-lang.org/book/ (2025-01-15)\n   \
         Welcome to The Rust Programming Language, an introductory book about Rust.\n\
         2. Rust (programming language) - Wikipedia\n   https://en.wikipedia.org/wiki/Rust (2025-01-15)\n   \
         Rust is a..."
    );

    let requests = fake.search_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-api-key"), Some("exa-key-9911"));
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    let body = requests[0].json().expect("json");
    assert_eq!(body["query"], "rust book");
    assert_eq!(body["numResults"], 2);
    assert_eq!(body["contents"]["text"]["maxCharacters"], 1000);
    assert_eq!(ExaSearch::spec().name, "web_search");
}

#[tokio::test]
async fn exa_key_from_env_and_clear_key_errors() {
    let fake = ExaFake::start(Some("exa-key-right"), pages());
    let env = |name: &str| (name == "EXA_API_KEY").then(|| "exa-key-wrong".to_string());
    let exa =
        ExaSearch::new(&ExaConfig::default(), &env, Some(&fake.base_url()), &egress(loopback_allowed())).expect("exa");
    let err = exa.call(json!({"query": "rust"})).await.unwrap_err();
    let ToolError::Failed { tool, message } = &err else { panic!("{err}") };
    assert_eq!(tool, "web_search");
    assert_eq!(message, "Exa answered HTTP 401 [INVALID_API_KEY]: Invalid API key");
    assert_eq!(fake.search_requests()[0].header("x-api-key"), Some("exa-key-wrong"));

    let no_env = |_: &str| None;
    let err = ExaSearch::new(&ExaConfig::default(), &no_env, Some(&fake.base_url()), &egress(loopback_allowed()))
        .unwrap_err();
    assert!(matches!(err, ToolError::MissingKey { .. }), "{err}");
    assert!(err.to_string().contains("EXA_API_KEY"), "{err}");

    // The fake's loopback origin is refused unless the operator allowed it.
    let config = ExaConfig { api_key: Some(ApiKey::new("k")), num_results: None };
    let err = ExaSearch::new(&config, &no_env, Some(&fake.base_url()), &egress(NetworkPolicy::default())).unwrap_err();
    assert!(matches!(err, ToolError::Denied(_)), "{err}");
}
