//! `[server]`: how the HTTP server treats slow, idle and numerous client connections (see
//! `crate::api::server`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// A client must send a request's whole head (request line and headers) within this long of
    /// its first byte; a new connection must send its first request head within this long of
    /// being accepted.
    #[serde(rename = "header_read_timeout_ms", with = "duration::millis")]
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this long; so is one
    /// whose client stops reading a response for this long.
    #[serde(rename = "idle_timeout_secs", with = "duration::secs")]
    pub idle_timeout: Duration,
    /// A request's body must have arrived this long after its head; a trickling body gets an
    /// error and the connection is closed.
    #[serde(rename = "body_read_timeout_secs", with = "duration::secs")]
    pub body_read_timeout: Duration,
    /// Most client connections open at once. Further clients wait in the listen backlog until
    /// one closes. Lowered at start-up to what the open-file limit leaves room for.
    pub max_connections: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

impl Server {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ms = Duration::from_millis;
        let secs = Duration::from_secs;
        if !(ms(100)..=ms(600_000)).contains(&self.header_read_timeout) {
            return invalid("server.header_read_timeout_ms must be between 100 and 600000");
        }
        if !(secs(1)..=secs(86_400)).contains(&self.idle_timeout) {
            return invalid("server.idle_timeout_secs must be between 1 and 86400");
        }
        if !(secs(1)..=secs(86_400)).contains(&self.body_read_timeout) {
            return invalid("server.body_read_timeout_secs must be between 1 and 86400");
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return invalid("server.max_connections must be between 1 and 1000000");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_start_up_errors() {
        assert!(Server::default().validate().is_ok());
        let bad = [
            (
                Server {
                    header_read_timeout: Duration::ZERO,
                    ..Server::default()
                },
                "server.header_read_timeout_ms",
            ),
            (
                Server {
                    idle_timeout: Duration::ZERO,
                    ..Server::default()
                },
                "server.idle_timeout_secs",
            ),
            (
                Server {
                    body_read_timeout: Duration::ZERO,
                    ..Server::default()
                },
                "server.body_read_timeout_secs",
            ),
            (
                Server {
                    max_connections: 0,
                    ..Server::default()
                },
                "server.max_connections",
            ),
        ];
        for (server, name) in bad {
            let err = server.validate().unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
