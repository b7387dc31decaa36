//! `[retention]`: how long finished videos' files are kept.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Output files are removed this long after completion; zero keeps them forever.
    #[serde(rename = "days", with = "duration::days")]
    pub keep: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep: Duration::from_secs(7 * 86_400),
        }
    }
}
