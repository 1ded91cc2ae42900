//! What every HTTP endpoint's script shares: a scripted failure sent instead of the real answer,
//! and a pause before the response head.
//!
//! Each endpoint keeps its own public script type; [`answer_builders!`] gives them all the same
//! builder methods (`status`, `error`, `retry_after`, `header`, `response_delay`) over an
//! [`Answer`] field.

use std::time::Duration;

use axum::response::Response;

use super::server::Shutdown;
use super::wire::Reply;

/// How an HTTP endpoint answers before its own logic runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Answer {
    /// Sent instead of the endpoint's real answer.
    pub(crate) failure: Option<Reply>,
    /// Pause before the response head is sent (time to first byte).
    pub(crate) delay: Duration,
}

impl Answer {
    /// Adds a header to the scripted failure; a script without one ignores it.
    pub(crate) fn set_header(&mut self, name: &str, value: &str) {
        if let Some(reply) = &mut self.failure {
            reply.set_header(name, value.into());
        }
    }

    /// Waits the scripted delay, unless the fake is dropped first.
    pub(crate) async fn wait(&self, shutdown: &Shutdown) {
        shutdown.sleep(self.delay).await;
    }

    /// The scripted failure as a response, `headers` first, if there is one.
    pub(crate) fn failure(&self, headers: &[(String, String)]) -> Option<Response> {
        self.failure.clone().map(|reply| reply.into_response(headers))
    }
}

/// Implements the builder methods every HTTP script shares on `$script`, a type with an
/// `answer: Answer` field. `base` is the script a failure starts from, `error_body` turns a
/// status into the provider's body for it, and `provider` names the provider in the docs.
macro_rules! answer_builders {
    ($script:ident { base: $base:expr, error_body: $error_body:expr, provider: $provider:literal $(,)? }) => {
        impl $script {
            /// Answer with `status` and this exact body (content type `application/json`).
            pub fn status(status: u16, body: impl Into<String>) -> Self {
                let mut script: Self = $base;
                script.answer.failure = Some($crate::fakes::wire::Reply::json(status, body));
                script
            }

            #[doc = concat!("Answer with `status` and the body ", $provider, " sends for it.")]
            pub fn error(status: u16) -> Self {
                Self::status(status, $error_body(status))
            }

            /// Adds a `retry-after: <seconds>` header (to a [`Self::status`] answer).
            pub fn retry_after(self, seconds: u64) -> Self {
                self.header("retry-after", &seconds.to_string())
            }

            /// Adds a header to a [`Self::status`] answer.
            pub fn header(mut self, name: &str, value: &str) -> Self {
                self.answer.set_header(name, value);
                self
            }

            /// Pause before the response head is sent (time to first byte).
            pub fn response_delay(mut self, delay: ::std::time::Duration) -> Self {
                self.answer.delay = delay;
                self
            }
        }
    };
}

pub(crate) use answer_builders;
