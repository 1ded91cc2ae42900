//! The one resolver: names are resolved here and every address is vetted by the policy
//! before a connection is made to it — by reqwest for HTTP, by [`resolve_vetted`] for
//! WebSockets.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{NetworkPolicy, PolicyError, Target};

/// Resolves names and refuses non-public addresses the operator did not allow.
pub(super) struct PolicyResolver {
    pub policy: Arc<NetworkPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let vetted = policy.vet_addrs(&host, addrs)?;
            let addrs: Addrs = Box::new(vetted.into_iter());
            Ok(addrs)
        })
    }
}

/// Why a target's addresses cannot be used.
#[derive(Debug)]
pub(super) enum ResolveError {
    Unresolved(String),
    Denied(PolicyError),
}

/// Resolves and vets a target outside reqwest (a WebSocket).
pub(super) async fn resolve_vetted(policy: &NetworkPolicy, target: &Target) -> Result<Vec<SocketAddr>, ResolveError> {
    let port = target.url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), port))
        .await
        .map_err(|e| ResolveError::Unresolved(format!("resolving {}: {e}", target.host)))?
        .collect();
    if addrs.is_empty() {
        return Err(ResolveError::Unresolved(format!("{} has no addresses", target.host)));
    }
    if target.private_ok {
        return Ok(addrs);
    }
    policy.vet_addrs(&target.host, addrs).map_err(ResolveError::Denied)
}
