//! The open-files limit. Every LiveKit session holds about five sockets (signalling, two per
//! peer connection), so the common default soft limit of 1024 caps a process near 200 sessions
//! while the hard limit is usually far higher. Workers and the server raise it at start, as Go
//! programs and LiveKit's own server do.

/// The soft limit before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// What to aim for when the hard limit is unlimited.
#[cfg(unix)]
const UNLIMITED_TARGET: u64 = 1 << 20;

/// Raises the soft limit on open files to the hard limit (`None`: unlimited).
#[cfg(unix)]
pub fn raise_limit() -> std::io::Result<Raised> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.unwrap_or(UNLIMITED_TARGET);
    match limit.current {
        Some(current) if current < target => {
            setrlimit(Resource::Nofile, Rlimit { current: Some(target), maximum: limit.maximum })?;
            Ok(Raised { before: Some(current), after: Some(target) })
        }
        current => Ok(Raised { before: current, after: current }),
    }
}

#[cfg(not(unix))]
pub fn raise_limit() -> std::io::Result<Raised> {
    Ok(Raised { before: None, after: None })
}

/// [`raise_limit`], logged: a failure only limits how many sessions fit.
pub fn raise_and_log() {
    match raise_limit() {
        Ok(Raised { before, after }) if before != after => {
            tracing::info!(?before, ?after, "raised the open-files limit");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not raise the open-files limit; it caps the sessions per process"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        use rustix::process::{Resource, getrlimit};
        let raised = super::raise_limit().unwrap();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, raised.after);
        assert_eq!(limit.current, Some(limit.maximum.unwrap_or(super::UNLIMITED_TARGET)));
    }
}
