//! OpenAI's error bodies, word for word where the real text is known.

/// `{"error": {"message", "type", "param", "code"}}`, pretty-printed with four-space indents and
/// a trailing newline as the API writes it.
pub(crate) fn error_json(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> String {
    let string = super::super::wire::json_string;
    let or_null = |value: Option<&str>| value.map_or_else(|| "null".to_owned(), string);
    format!(
        "{{\n    \"error\": {{\n        \"message\": {},\n        \"type\": {},\n        \"param\": {},\n        \"code\": {}\n    }}\n}}\n",
        string(message),
        string(kind),
        or_null(param),
        or_null(code),
    )
}

/// The body OpenAI sends for `status` in the common cases (401 bad key, 404 unknown model, 429
/// rate limit, 500 server error, 503 overloaded); any other status gets a generic body of the
/// right type.
pub fn error_body(status: u16) -> String {
    match status {
        400 => error_json("Invalid request.", "invalid_request_error", None, None),
        401 => invalid_api_key("sk-wrong-key-0000"),
        404 => error_json(
            "The model `gpt-fake` does not exist or you do not have access to it.",
            "invalid_request_error",
            None,
            Some("model_not_found"),
        ),
        429 => error_json(
            "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): \
             Limit 3, Used 3, Requested 1. Please try again in 20s. Visit \
             https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ),
        503 => error_json("The engine is currently overloaded, please try again later.", "server_error", None, None),
        500..=599 => error_json(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
        _ => error_json("The request could not be served.", "invalid_request_error", None, None),
    }
}

pub(crate) fn missing_api_key() -> String {
    error_json(
        "You didn't provide an API key. You need to provide your API key in an Authorization \
         header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field \
         (with blank username) if you're accessing the API from your browser and are prompted for \
         a username and password. You can obtain an API key from \
         https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        None,
        None,
    )
}

pub(crate) fn invalid_api_key(presented: &str) -> String {
    error_json(
        &format!(
            "Incorrect API key provided: {}. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            redact(presented)
        ),
        "invalid_request_error",
        None,
        Some("invalid_api_key"),
    )
}

/// OpenAI echoes a wrong key with its middle starred out.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

pub(crate) fn unparseable_json() -> String {
    error_json(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't \
         using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was \
         sent was not valid JSON. If you have trouble figuring out how to fix this, please contact \
         us through our help center at help.openai.com.)",
        "invalid_request_error",
        None,
        None,
    )
}

pub(crate) fn missing_parameter(param: &str) -> String {
    error_json(
        &format!("Missing required parameter: '{param}'."),
        "invalid_request_error",
        Some(param),
        Some("missing_required_parameter"),
    )
}

/// OpenAI's 400 for a string over its maximum length (`messages[1].tool_calls[0].id`: 40).
pub(crate) fn string_too_long(param: &str, value: &str) -> String {
    let message = format!(
        "Invalid '{param}': string too long. Expected a string with maximum length 40, but got a string with length {} instead.",
        value.chars().count()
    );
    error_json(&message, "invalid_request_error", Some(param), Some("string_above_max_length"))
}

pub(crate) fn invalid_value(param: &str, message: &str) -> String {
    error_json(message, "invalid_request_error", Some(param), Some("invalid_value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_documented_shape() -> anyhow::Result<()> {
        for status in [400, 401, 404, 429, 500, 503, 418] {
            let body: serde_json::Value = serde_json::from_str(&error_body(status))?;
            let error = &body["error"];
            assert!(error["message"].is_string(), "{status}");
            assert!(error["type"].is_string(), "{status}");
            assert!(error.get("param").is_some() && error.get("code").is_some());
        }
        let body: serde_json::Value = serde_json::from_str(&error_body(401))?;
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert!(error_body(401).starts_with("{\n    \"error\": {\n"));
        Ok(())
    }

    #[test]
    fn keys_are_redacted() {
        assert_eq!(redact("sk-abcdefgh1234"), "sk-********1234");
        assert_eq!(redact("short"), "*****");
    }
}
