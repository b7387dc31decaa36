//! `[sweeper]`: draining the file-deletion outbox.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sweeper {
    /// How often the file-deletion outbox is drained (it also runs at start-up).
    #[serde(rename = "interval_secs", with = "duration::secs")]
    pub interval: Duration,
    /// Upper bound on removing a deleted video's files before answering delbyids; what is not
    /// done by then is left to the sweeper.
    #[serde(rename = "inline_delete_timeout_ms", with = "duration::millis")]
    pub inline_delete_timeout: Duration,
}

impl Default for Sweeper {
    fn default() -> Self {
        Sweeper {
            interval: Duration::from_secs(60),
            inline_delete_timeout: Duration::from_secs(2),
        }
    }
}
