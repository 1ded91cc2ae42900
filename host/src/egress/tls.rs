//! TLS for every client in the process: rustls on ring, with the system's certificates.

/// Installs ring as the process-wide rustls crypto provider. reqwest is built without a
/// provider of its own (no aws-lc, which needs cmake), as are tungstenite and LiveKit's API
/// client, so this must run before any of them builds a client. Idempotent.
pub fn install_crypto_provider() {
    // An error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
