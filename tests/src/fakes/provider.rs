//! The public scaffolding every provider fake has, written once: [`provider_fake!`] generates it
//! for each provider's own script and handle types.

/// Generates the scaffolding of one provider fake, for its script type `$script` and its
/// running-fake type `$fake`:
///
/// - on `$script`, a `Default` struct with an `api_key: Option<String>` field and one `Vec` of
///   scripts per endpoint, named after the endpoint: `new`, `api_key` (documented as checked
///   against `Authorization: $scheme <key>` with `auth: $scheme`, or by the doc comment given
///   before `api_key,` for a provider whose key travels elsewhere), one queueing method per
///   endpoint, `start`, and a `From` conversion from each endpoint's script;
/// - the provider module's `start` function;
/// - on `$fake`, a struct with a `server: FakeServer` field: `addr`, `requests` and
///   `requests_to`.
///
/// `$fake::start(script: impl Into<$script>) -> $fake`, which builds the provider's router and
/// state, is the provider's own.
macro_rules! provider_fake {
    (
        $script:ident => $fake:ident,
        auth: $scheme:literal,
        endpoints: { $( $(#[$doc:meta])* $endpoint:ident: $endpoint_script:ident ),+ $(,)? } $(,)?
    ) => {
        $crate::fakes::provider::provider_fake! {
            $script => $fake,
            #[doc = concat!("Require `Authorization: ", $scheme, " <key>`; anything else gets the provider's 401.")]
            api_key,
            endpoints: { $( $(#[$doc])* $endpoint: $endpoint_script ),+ },
        }
    };
    (
        $script:ident => $fake:ident,
        $(#[$key_doc:meta])*
        api_key,
        endpoints: { $( $(#[$doc:meta])* $endpoint:ident: $endpoint_script:ident ),+ $(,)? } $(,)?
    ) => {
        impl $script {
            /// No key check; every endpoint answers with its default script.
            pub fn new() -> Self {
                Self::default()
            }

            $(#[$key_doc])*
            pub fn api_key(mut self, key: impl Into<String>) -> Self {
                self.api_key = Some(key.into());
                self
            }

            $(
                $(#[$doc])*
                pub fn $endpoint(mut self, script: $endpoint_script) -> Self {
                    self.$endpoint.push(script);
                    self
                }
            )+

            pub fn start(self) -> $fake {
                $fake::start(self)
            }
        }

        $(
            impl From<$endpoint_script> for $script {
                fn from(script: $endpoint_script) -> Self {
                    $script::new().$endpoint(script)
                }
            }
        )+

        /// Starts the fake on `127.0.0.1:0` (inside a tokio runtime).
        pub fn start(script: impl Into<$script>) -> $fake {
            $fake::start(script)
        }

        impl $fake {
            pub fn addr(&self) -> ::std::net::SocketAddr {
                self.server.addr()
            }

            /// Every HTTP request received (WebSocket handshakes included), in arrival order.
            pub fn requests(&self) -> Vec<$crate::fakes::RecordedRequest> {
                self.server.requests()
            }

            /// Requests whose path (query excluded) is `path`.
            pub fn requests_to(&self, path: &str) -> Vec<$crate::fakes::RecordedRequest> {
                self.server.requests_to(path)
            }
        }
    };
}

pub(crate) use provider_fake;
