//! Exa web search as the LLM tool `web_search`: `POST {base}/search` with `x-api-key`, the
//! results' titles, URLs and a text snippet returned to the LLM as a short list.
//!
//! Request and response follow Exa's API (`query`, `type`, `numResults`,
//! `contents.text.maxCharacters`; `requestId`, `results[{title, url, publishedDate, text}]`);
//! an error body is `{requestId, error, tag?, message?}` and its words reach the LLM, never the
//! key.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{ToolError, ToolSpec, net};
use crate::config::tools::{EXA_KEY_VAR, ExaConfig};
use crate::egress::secret::{API_KEY_PLACEHOLDER, Secret};
use crate::egress::{Egress, Grant, Outgoing, SendError};

/// Exa's API origin.
pub const EXA_BASE_URL: &str = "https://api.exa.ai";
/// The name the LLM calls the tool by.
pub const TOOL_NAME: &str = "web_search";
/// Results when the config names no count: enough to answer, short enough to speak.
pub const DEFAULT_NUM_RESULTS: u32 = 5;
/// Exa's own ceiling for a plain search.
const MAX_NUM_RESULTS: u32 = 100;
/// Page text requested per result; the snippet shown is shorter still.
const TEXT_CHARACTERS: u32 = 1_000;
/// Characters of page text the LLM sees per result.
const SNIPPET_CHARACTERS: usize = 300;
/// Exa's `auto` search with contents usually answers within a few seconds.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The `web_search` tool of one session.
pub struct ExaSearch {
    egress: Egress,
    endpoint: Url,
    key: Secret,
    num_results: u32,
    timeout: Duration,
}

impl std::fmt::Debug for ExaSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExaSearch")
            .field("endpoint", &self.endpoint.as_str())
            .field("num_results", &self.num_results)
            .finish_non_exhaustive()
    }
}

impl ExaSearch {
    /// The key comes from the config, else from `EXA_API_KEY` through `env`; `base_url`
    /// replaces [`EXA_BASE_URL`] (tests, proxies the operator runs).
    pub fn new(
        config: &ExaConfig,
        env: &dyn Fn(&str) -> Option<String>,
        base_url: Option<&str>,
        egress: &Egress,
    ) -> Result<Self, ToolError> {
        let key = match &config.api_key {
            Some(key) => key.secret().clone(),
            None => env(EXA_KEY_VAR)
                .filter(|value| !value.trim().is_empty())
                .map(|value| Secret::new(value.trim()))
                .ok_or_else(|| ToolError::MissingKey { tool: TOOL_NAME.to_string(), env: EXA_KEY_VAR })?,
        };
        let base = base_url.unwrap_or(EXA_BASE_URL).trim();
        let base = Url::parse(base).map_err(|e| ToolError::Denied(format!("Exa: bad URL `{base}`: {e}")))?;
        let endpoint = search_endpoint(&base);
        let search = Self {
            egress: egress.clone(),
            endpoint,
            key,
            num_results: config.num_results.unwrap_or(DEFAULT_NUM_RESULTS).clamp(1, MAX_NUM_RESULTS),
            timeout: CALL_TIMEOUT,
        };
        // Refused now rather than at the first search: the operator sees it when the session starts.
        search.request(Vec::new())?;
        Ok(search)
    }

    /// Replaces the per-search time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What the LLM is told about `web_search`.
    pub fn spec() -> ToolSpec {
        ToolSpec {
            name: TOOL_NAME.to_string(),
            description: "Search the web for current information. Returns the top results with their title, \
                          URL and a short excerpt."
                .to_string(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "description": "What to search for, in natural language."
                    }
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        }
    }

    /// Runs one search; `arguments` is the LLM's `{query}`.
    pub async fn call(&self, arguments: serde_json::Value) -> Result<String, ToolError> {
        let query = query_argument(&arguments)?;
        let body = serde_json::json!({
            "query": query,
            "type": "auto",
            "numResults": self.num_results,
            "contents": {"text": {"maxCharacters": TEXT_CHARACTERS}},
        });
        let request = self.request(body.to_string().into_bytes())?;
        let exchange = async {
            let response = self.egress.send(request).await?;
            let status = response.status();
            let bytes = response.bytes().await?;
            Ok::<_, SendError>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => return Err(ToolError::Timeout { tool: TOOL_NAME.into(), seconds: self.timeout.as_secs() }),
            Ok(Err(error)) => return Err(self.transport_failure(&error)),
            Ok(Ok(answer)) => answer,
        };
        if !status.is_success() {
            let message = Secret::scrub(Some(&self.key), &error_message(status.as_u16(), &bytes));
            tracing::warn!(status = status.as_u16(), %message, "Exa search failed");
            return Err(failed(message));
        }
        let response: SearchResponse =
            serde_json::from_slice(&bytes).map_err(|e| failed(format!("Exa sent an unreadable answer: {e}")))?;
        tracing::debug!(
            request_id = response.request_id.as_deref().unwrap_or(""),
            results = response.results.len(),
            "Exa search"
        );
        Ok(format_results(query, &response.results))
    }

    /// A search request through the egress, the key filled into `x-api-key` there.
    fn request(&self, body: Vec<u8>) -> Result<crate::egress::Authorized, ToolError> {
        let request = Outgoing::post(self.endpoint.as_str(), body)
            .header("x-api-key", API_KEY_PLACEHOLDER)
            .header("content-type", "application/json");
        self.egress.authorize(Grant::ConfigUrl, request, Some(&self.key)).map_err(|error| match error {
            crate::egress::EgressError::Denied(denied) => ToolError::Denied(format!("Exa: {denied}")),
            _ => failed(format!("the {EXA_KEY_VAR} value is not a valid HTTP header value")),
        })
    }

    fn transport_failure(&self, error: &SendError) -> ToolError {
        let causes = crate::error_text::causes(error, |_| None);
        if let Some(denied) = net::denial(&causes) {
            return ToolError::Denied(format!("Exa: {denied}"));
        }
        if error.is_timeout() {
            return ToolError::Timeout { tool: TOOL_NAME.into(), seconds: self.timeout.as_secs() };
        }
        failed(format!("could not reach Exa: {}", net::describe(&causes, &self.endpoint, Some(&self.key))))
    }
}

fn failed(message: String) -> ToolError {
    ToolError::Failed { tool: TOOL_NAME.to_string(), message }
}

/// `{base}/search`, keeping a path prefix the base URL may have.
fn search_endpoint(base: &Url) -> Url {
    let path = format!("{}/search", base.path().trim_end_matches('/'));
    let mut endpoint = base.clone();
    endpoint.set_path(&path);
    endpoint.set_query(None);
    endpoint
}

fn query_argument(arguments: &serde_json::Value) -> Result<&str, ToolError> {
    let bad = |message: &str| ToolError::BadArguments { tool: TOOL_NAME.to_string(), message: message.to_string() };
    let query = arguments.get("query").ok_or_else(|| bad("`query` is required"))?;
    let query = query.as_str().ok_or_else(|| bad("`query` must be a string"))?.trim();
    if query.is_empty() {
        return Err(bad("`query` is empty"));
    }
    Ok(query)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResponse {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    results: Vec<SearchResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResult {
    #[serde(default)]
    title: Option<String>,
    url: String,
    #[serde(default)]
    published_date: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    highlights: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    tag: Option<String>,
}

/// Exa's words for a failed search: `error` (and `message`), its tag, the status.
fn error_message(status: u16, body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let words = parsed.as_ref().and_then(|body| {
        let text = [body.error.as_deref(), body.message.as_deref()]
            .into_iter()
            .flatten()
            .filter(|part| !part.trim().is_empty())
            .collect::<Vec<_>>()
            .join(". ");
        (!text.is_empty()).then_some(text)
    });
    let words = words.unwrap_or_else(|| snippet(&String::from_utf8_lossy(body), 200));
    let tag = parsed.and_then(|body| body.tag).map(|tag| format!(" [{tag}]")).unwrap_or_default();
    if words.is_empty() {
        format!("Exa answered HTTP {status}{tag}")
    } else {
        format!("Exa answered HTTP {status}{tag}: {words}")
    }
}

/// One numbered entry per result: title, URL, date, then a snippet of the page.
fn format_results(query: &str, results: &[SearchResult]) -> String {
    if results.is_empty() {
        return format!("No web results for \"{query}\".");
    }
    let mut text = String::new();
    for (index, result) in results.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        let title = result.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or("(untitled)");
        text.push_str(&format!("{}. {title}\n   {}", index + 1, result.url));
        if let Some(date) = result.published_date.as_deref().and_then(|d| d.get(..10)) {
            text.push_str(&format!(" ({date})"));
        }
        let body = result.text.clone().or_else(|| result.highlights.as_ref().map(|h| h.join(" … ")));
        let excerpt = snippet(body.as_deref().unwrap_or(""), SNIPPET_CHARACTERS);
        if !excerpt.is_empty() {
            text.push_str("\n   ");
            text.push_str(&excerpt);
        }
    }
    text
}

/// `text` on one line, cut at `max` characters with an ellipsis.
fn snippet(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::secret::ApiKey;

    fn results(value: serde_json::Value) -> Vec<SearchResult> {
        serde_json::from_value::<SearchResponse>(value).unwrap().results
    }

    #[test]
    fn results_become_a_numbered_list() {
        let results = results(json!({
            "requestId": "r1",
            "results": [
                {"id": "https://a.example/", "title": "A  title", "url": "https://a.example/",
                 "publishedDate": "2024-05-01T00:00:00.000Z", "author": null, "text": "First\n\nline   here"},
                {"id": "https://b.example/", "title": null, "url": "https://b.example/", "highlights": ["h1", "h2"]}
            ]
        }));
        assert_eq!(
            format_results("q", &results),
            "1. A  title\n   https://a.example/ (2024-05-01)\n   First line here\n2. (untitled)\n   https://b.example/\n   h1 … h2"
        );
        assert_eq!(format_results("rust", &[]), "No web results for \"rust\".");
    }

    #[test]
    fn snippets_are_cut_on_characters() {
        assert_eq!(snippet("ééé ééé", 5), "ééé é…");
        assert_eq!(snippet("short", 10), "short");
    }

    #[test]
    fn error_bodies_give_exa_words() {
        let body = br#"{"requestId":"x","error":"Invalid API key","tag":"INVALID_API_KEY"}"#;
        assert_eq!(error_message(401, body), "Exa answered HTTP 401 [INVALID_API_KEY]: Invalid API key");
        assert_eq!(error_message(502, b"<html>Bad gateway</html>"), "Exa answered HTTP 502: <html>Bad gateway</html>");
        assert_eq!(error_message(500, b""), "Exa answered HTTP 500");
    }

    #[test]
    fn queries_are_checked() {
        assert_eq!(query_argument(&json!({"query": " rust "})).unwrap(), "rust");
        for bad in [json!({}), json!({"query": 3}), json!({"query": "  "}), json!("rust")] {
            assert!(matches!(query_argument(&bad), Err(ToolError::BadArguments { .. })), "{bad}");
        }
    }

    #[test]
    fn the_key_comes_from_config_then_env() {
        let egress = Egress::new(std::sync::Arc::new(Default::default()), Default::default()).unwrap();
        let no_env = |_: &str| None;
        let err = ExaSearch::new(&ExaConfig::default(), &no_env, None, &egress).unwrap_err();
        assert!(err.to_string().contains("EXA_API_KEY"), "{err}");
        let env = |name: &str| (name == EXA_KEY_VAR).then(|| "env-key".to_string());
        assert!(ExaSearch::new(&ExaConfig::default(), &env, None, &egress).is_ok());
        let config = ExaConfig { api_key: Some(ApiKey::new("cfg-key")), num_results: Some(500) };
        let search = ExaSearch::new(&config, &no_env, None, &egress).unwrap();
        assert_eq!(search.key.expose(), "cfg-key");
        assert_eq!(search.num_results, MAX_NUM_RESULTS);
        assert_eq!(search.endpoint.as_str(), "https://api.exa.ai/search");
    }

    #[test]
    fn the_endpoint_keeps_a_base_path() {
        let base = Url::parse("http://proxy.example/exa/").unwrap();
        assert_eq!(search_endpoint(&base).as_str(), "http://proxy.example/exa/search");
    }
}
