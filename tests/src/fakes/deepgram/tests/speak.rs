use anyhow::Result;
use serde_json::Value;

use super::KEY;
use crate::fakes::deepgram::{self, DeepgramScript, SPEAK_PATH, SpeakScript};
use crate::fakes::test_support::raw_request;

const SPEAK_QUERY: &str = "model=aura-2-thalia-en&encoding=linear16&sample_rate=16000&container=none";

#[tokio::test]
async fn speak_streams_pcm_at_the_requested_rate_in_odd_chunks() -> Result<()> {
    let script = SpeakScript::tone();
    let expected = script.pcm_for("Good evening.", 16_000);
    let fake = deepgram::start(DeepgramScript::new().api_key(KEY).speak(script));
    let auth = format!("Token {KEY}");
    let raw = raw_request(
        fake.addr(),
        "POST",
        &format!("{SPEAK_PATH}?{SPEAK_QUERY}"),
        &[("authorization", &auth), ("content-type", "application/json")],
        br#"{"text":"Good evening."}"#,
    )
    .await?;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("transfer-encoding"), Some("chunked"));
    assert_eq!(raw.header("dg-model-name"), Some("aura-2-thalia-en"));
    assert_eq!(raw.header("dg-char-count"), Some("13"));
    assert!(raw.header("dg-request-id").is_some());
    assert_eq!(expected.len(), 13 * 40 * 16 * 2);
    assert_eq!(raw.body(), expected);
    let (_, full) = raw.chunks.split_last().map_or((&[][..], &[][..]), |(l, f)| (&l[..], f));
    assert!(!full.is_empty() && full.iter().all(|c| c.len() == 4801));
    let recorded = fake.speak_requests();
    assert_eq!(recorded[0].query_param("sample_rate").as_deref(), Some("16000"));
    assert_eq!(recorded[0].json()?["text"], "Good evening.");
    Ok(())
}

#[tokio::test]
async fn speak_checks_key_query_and_body() -> Result<()> {
    let fake = deepgram::start(DeepgramScript::new().api_key(KEY).speak(SpeakScript::error(429)));
    let client = crate::http_client();
    let url = |query: &str| format!("{}{SPEAK_PATH}?{query}", fake.base_url());
    let auth = format!("Token {KEY}");

    let unauthorized = client.post(url(SPEAK_QUERY)).header("authorization", "Token nope").body("{}").send().await?;
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(unauthorized.json::<Value>().await?["err_code"], "INVALID_AUTH");

    for query in [
        "model=aura-2-thalia-en&sample_rate=16000&container=none",
        "encoding=linear16&sample_rate=16000",
        "encoding=linear16&sample_rate=44100&container=none",
    ] {
        let response = client.post(url(query)).header("authorization", &auth).body(r#"{"text":"x"}"#).send().await?;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.json::<Value>().await?["category"], "INVALID_QUERY_PARAMETER");
    }
    let empty = client.post(url(SPEAK_QUERY)).header("authorization", &auth).body(r#"{"text":""}"#).send().await?;
    assert_eq!(empty.status(), 400);

    let limited = client.post(url(SPEAK_QUERY)).header("authorization", &auth).body(r#"{"text":"x"}"#).send().await?;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.json::<Value>().await?["err_code"], "TOO_MANY_REQUESTS");
    Ok(())
}
