//! The connection cap and the timeouts, sized at start-up: the cap lowered to fit the open-file
//! limit, which is first raised as far as the system allows.

use std::time::Duration;

use crate::config::Config;

/// Descriptors kept back from the connection cap for everything else the process opens: the
/// listener, logs, outbound image/audio/webhook requests, files served by `/files`.
const RESERVED_DESCRIPTORS: u64 = 256;
/// Per render worker: ffmpeg's pipes, its input files and the staged output.
const DESCRIPTORS_PER_WORKER: u64 = 8;

/// How the server treats client connections; built from `[server]` by [`Limits::at_start_up`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    /// The effective cap: `server.max_connections`, lowered to fit the open-file limit.
    pub max_connections: usize,
}

impl Limits {
    /// `[server]` with `max_connections` lowered so that connections plus `reserved` other
    /// descriptors fit in `open_files` (when known).
    pub fn new(server: &crate::config::Server, open_files: Option<u64>, reserved: u64) -> Limits {
        let fits = open_files.map_or(usize::MAX, |n| {
            usize::try_from(n.saturating_sub(reserved).max(1)).unwrap_or(usize::MAX)
        });
        Limits {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            body_read_timeout: server.body_read_timeout,
            max_connections: server.max_connections.min(fits),
        }
    }

    /// Raises the open-file limit as far as allowed, then sizes the cap to it; warns when the
    /// configured cap does not fit.
    pub fn at_start_up(config: &Config) -> Limits {
        let open_files = raise_open_file_limit();
        let worker_count = u64::try_from(config.worker_count()).unwrap_or(u64::MAX);
        let reserved = RESERVED_DESCRIPTORS
            .saturating_add(u64::from(config.database.max_connections))
            .saturating_add(DESCRIPTORS_PER_WORKER.saturating_mul(worker_count));
        let limits = Limits::new(&config.server, open_files, reserved);
        if limits.max_connections < config.server.max_connections {
            tracing::warn!(
                configured = config.server.max_connections,
                effective = limits.max_connections,
                open_file_limit = open_files,
                reserved,
                "server.max_connections lowered to fit the open-file limit (raise `ulimit -n` \
                 or LimitNOFILE to allow more)"
            );
        }
        limits
    }
}

/// Raises the soft open-file limit to the hard one where the system allows it and returns the
/// soft limit now in force (`None` when it cannot be read).
#[cfg(unix)]
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
pub fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let as_u64 = |n| u64::try_from(n).unwrap_or(u64::MAX);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        // macOS refuses an unlimited soft limit; keeping the old one is the right fallback.
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return Some(as_u64(hard)),
            Err(e) => tracing::debug!(error = %e, "could not raise the open-file limit"),
        }
    }
    Some(as_u64(soft))
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        let server = crate::config::Server::default();
        assert_eq!(Limits::new(&server, None, 300).max_connections, 1024);
        assert_eq!(
            Limits::new(&server, Some(1 << 20), 300).max_connections,
            1024
        );
        assert_eq!(Limits::new(&server, Some(1024), 300).max_connections, 724);
        assert_eq!(Limits::new(&server, Some(100), 300).max_connections, 1);
        let limits = Limits::new(&server, None, 0);
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
    }
}
