//! `[journal]`: the request journal of the admin API (`GET /_admin/v1/requests`).

use serde::{Deserialize, Serialize};

use super::error::{invalid, ConfigError};

/// The most entries an account may keep (each holds a request and its answer).
const MAX_PER_ACCOUNT_LIMIT: i64 = 100_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Journal {
    /// Records every request to an Akool route with its answer.
    pub enabled: bool,
    /// Entries kept per account; older ones are dropped.
    pub max_per_account: i64,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            enabled: true,
            max_per_account: 1_000,
        }
    }
}

impl Journal {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_PER_ACCOUNT_LIMIT).contains(&self.max_per_account) {
            return invalid(&format!(
                "journal.max_per_account must be from 1 to {MAX_PER_ACCOUNT_LIMIT}"
            ));
        }
        Ok(())
    }
}
