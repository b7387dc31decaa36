//! `[database]`: the store's connection pool, and which store a database URL selects.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

/// Connection pool of the store. SQLite serializes writes itself, so these matter most for
/// PostgreSQL, where every `serve` and `worker` process holds up to `max_connections`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection (or for the database to answer a new
    /// one) before it fails; also bounds how long `/readyz` takes to say "unreachable".
    #[serde(rename = "acquire_timeout_secs", with = "duration::secs")]
    pub acquire_timeout: Duration,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            max_connections: 10,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Database {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_connections == 0 || self.min_connections > self.max_connections {
            return invalid(
                "database.max_connections must be at least 1 and at least min_connections",
            );
        }
        if self.acquire_timeout < Duration::from_secs(1) {
            return invalid("database.acquire_timeout_secs must be at least 1");
        }
        Ok(())
    }
}

/// Which store a database URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_must_be_able_to_open_a_connection() {
        assert!(Database::default().validate().is_ok());
        for bad in [
            Database {
                max_connections: 0,
                ..Database::default()
            },
            Database {
                min_connections: 11,
                ..Database::default()
            },
            Database {
                acquire_timeout: Duration::from_millis(999),
                ..Database::default()
            },
        ] {
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains("database."), "{err}");
        }
    }

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://h/db"), Some(Backend::Postgres));
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }
}
