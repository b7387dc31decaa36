//! `[jobs]`: the render queue's workers, leases, retries and fair share.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Jobs {
    /// A claim expires this long after the last heartbeat.
    #[serde(rename = "lease_ms", with = "duration::millis")]
    pub lease: Duration,
    #[serde(rename = "heartbeat_ms", with = "duration::millis")]
    pub heartbeat: Duration,
    /// How often an idle worker looks for work.
    #[serde(rename = "poll_ms", with = "duration::millis")]
    pub poll: Duration,
    /// Claims per video before it is failed (and refunded).
    pub max_attempts: i64,
    #[serde(rename = "reap_interval_ms", with = "duration::millis")]
    pub reap_interval: Duration,
    /// First delay before retrying a render after a passing fault (image host down, timeout);
    /// doubled per attempt up to `retry_max`, within `max_attempts` claims in all.
    #[serde(rename = "retry_base_ms", with = "duration::millis")]
    pub retry_base: Duration,
    #[serde(rename = "retry_max_ms", with = "duration::millis")]
    pub retry_max: Duration,
    /// A rendered file is recorded for removal this long after its upload starts unless the
    /// completion takes it back; so a worker killed mid-upload leaves no orphan beyond this.
    /// A worker whose upload used up half of it gives the video back instead of completing.
    #[serde(rename = "stage_grace_ms", with = "duration::millis")]
    pub stage_grace: Duration,
    /// Videos a process may fetch inputs for beyond its render slots (`workers`), so that
    /// slow or silent image hosts never hold a render slot.
    pub fetch_slots: usize,
    /// Most videos of one account processing (claimed, fetching or rendering) at once, across
    /// every process sharing the database; the rest wait in the queue.
    pub max_in_flight_per_account: i64,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            poll: Duration::from_millis(500),
            max_attempts: 3,
            reap_interval: Duration::from_secs(5),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            stage_grace: Duration::from_secs(3600),
            fetch_slots: 16,
            max_in_flight_per_account: 8,
        }
    }
}

impl Jobs {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat.is_zero() || self.heartbeat >= self.lease {
            return invalid("jobs.heartbeat_ms must be positive and shorter than jobs.lease_ms");
        }
        if self.max_attempts < 1 {
            return invalid("jobs.max_attempts must be at least 1");
        }
        if self.max_in_flight_per_account < 1 {
            return invalid("jobs.max_in_flight_per_account must be at least 1");
        }
        if self.stage_grace < Duration::from_secs(2) {
            return invalid("jobs.stage_grace_ms must be at least 2000");
        }
        Ok(())
    }
}
