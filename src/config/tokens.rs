//! `[tokens]`: the tokens getToken hands out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tokens {
    /// Lifetime of tokens from getToken. Akool documents "more than one year".
    #[serde(rename = "ttl_days", with = "duration::days")]
    pub ttl: Duration,
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens {
            ttl: Duration::from_secs(400 * 86_400),
        }
    }
}
