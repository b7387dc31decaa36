//! `[auth]`: how long a looked-up credential is trusted.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// How long a looked-up API key or token account is trusted without asking the store again
    /// (zero = ask every time). Bans and rotations made through this process apply at once;
    /// other processes sharing the database see them within this time.
    #[serde(rename = "cache_ttl_ms", with = "duration::millis")]
    pub cache_ttl: Duration,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            cache_ttl: Duration::from_secs(1),
        }
    }
}
