//! What a failed tool request says: the causes of an error, outermost first, on one line
//! that is safe to show (the secret scrubbed, the URL without its query), and the policy
//! refusal among them. Tool requests themselves go through `crate::egress`.

use url::Url;

use crate::egress::policy::{PolicyError, redact_url};
use crate::egress::secret::Secret;

/// The policy refusal among `causes`, if a request was refused at resolution.
pub(crate) fn denial(causes: &[&(dyn std::error::Error + 'static)]) -> Option<PolicyError> {
    crate::error_text::find::<PolicyError>(causes).cloned()
}

/// The causes on one line, safe to show: the secret scrubbed, the URL without its query.
pub(crate) fn describe(causes: &[&(dyn std::error::Error + 'static)], url: &Url, secret: Option<&Secret>) -> String {
    let text = crate::error_text::join(causes).replace(url.as_str(), &redact_url(url.as_str()));
    Secret::scrub(secret, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_text::causes;

    #[test]
    fn descriptions_hide_the_query_and_the_secret() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request for url (https://mcp.example.com/mcp?token=abc) with key sk-secret-1")]
        struct Outer;
        let url = Url::parse("https://mcp.example.com/mcp?token=abc").unwrap();
        let secret = Secret::new("sk-secret-1");
        let outer = Outer;
        let text = describe(&causes(&outer, |_| None), &url, Some(&secret));
        assert_eq!(text, "error sending request for url (https://mcp.example.com/mcp?…) with key [redacted]");
    }
}
