//! `[webhooks]`: delivering Akool-format callbacks (see `crate::webhooks`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhooks {
    /// The `type` field of the encrypted payload.
    #[serde(rename = "type")]
    pub kind: String,
    /// Send the status-2 (processing) callback too.
    pub on_processing: bool,
    /// Attempts before a delivery is given up.
    pub max_attempts: i64,
    /// First retry delay; doubled per attempt (with +-20% jitter) up to `backoff_max`.
    #[serde(rename = "backoff_base_ms", with = "duration::millis")]
    pub backoff_base: Duration,
    #[serde(rename = "backoff_max_ms", with = "duration::millis")]
    pub backoff_max: Duration,
    /// Per-attempt limit; a receiver slower than this counts as a failure.
    #[serde(rename = "timeout_secs", with = "duration::secs")]
    pub timeout: Duration,
    #[serde(rename = "poll_ms", with = "duration::millis")]
    pub poll: Duration,
    /// Attempts this process makes at once, to all receivers together.
    pub max_concurrent: usize,
    /// Attempts at once to one receiver (scheme, host and port), so a slow receiver only slows
    /// its own callbacks.
    pub max_per_host: usize,
}

impl Default for Webhooks {
    fn default() -> Self {
        // 3 min doubling over 8 attempts: the last one about 6 hours after the first.
        Webhooks {
            kind: "image2video".into(),
            on_processing: true,
            max_attempts: 8,
            backoff_base: Duration::from_secs(180),
            backoff_max: Duration::from_secs(3 * 3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            max_concurrent: 64,
            max_per_host: 4,
        }
    }
}

impl Webhooks {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts < 1 || self.backoff_base.is_zero() {
            return invalid("webhooks.max_attempts and webhooks.backoff_base_ms must be positive");
        }
        Ok(())
    }
}
