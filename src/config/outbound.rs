//! `[outbound]`: timeouts and the slowest accepted body for every fetch made on a user's behalf
//! (images, audio, webhooks); see `crate::net`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outbound {
    #[serde(rename = "connect_timeout_secs", with = "duration::secs")]
    pub connect_timeout: Duration,
    /// Whole-request limit for image, audio and webhook requests.
    #[serde(rename = "timeout_secs", with = "duration::secs")]
    pub timeout: Duration,
    /// From sending a request until the response headers arrive (redirects included); a host
    /// that never answers fails after this long instead of `timeout`.
    #[serde(rename = "first_byte_timeout_secs", with = "duration::secs")]
    pub first_byte_timeout: Duration,
    /// Slowest accepted image or audio body, measured over each `rate_window`; 0 turns the
    /// check off.
    pub min_bytes_per_sec: u64,
    #[serde(rename = "rate_window_secs", with = "duration::secs")]
    pub rate_window: Duration,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            first_byte_timeout: Duration::from_secs(10),
            min_bytes_per_sec: 16 * 1024,
            rate_window: Duration::from_secs(5),
        }
    }
}

impl Outbound {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let second = Duration::from_secs(1);
        if self.connect_timeout < second || self.timeout < second {
            return invalid(
                "outbound.connect_timeout_secs and outbound.timeout_secs must be at least 1",
            );
        }
        if self.first_byte_timeout < second {
            return invalid("outbound.first_byte_timeout_secs must be at least 1");
        }
        if !(second..=Duration::from_secs(3600)).contains(&self.rate_window) {
            return invalid("outbound.rate_window_secs must be between 1 and 3600");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_settings_are_validated() {
        let base = Outbound::default();
        assert!(base.validate().is_ok());
        assert_eq!(base.first_byte_timeout, Duration::from_secs(10));
        assert_eq!(base.min_bytes_per_sec, 16384);
        assert_eq!(base.rate_window, Duration::from_secs(5));
        let off = Outbound {
            min_bytes_per_sec: 0,
            ..base.clone()
        };
        assert!(off.validate().is_ok());
        type Edit = fn(&mut Outbound);
        let edits: [Edit; 5] = [
            |o| o.first_byte_timeout = Duration::ZERO,
            |o| o.rate_window = Duration::ZERO,
            |o| o.rate_window = Duration::from_secs(3601),
            |o| o.timeout = Duration::ZERO,
            |o| o.connect_timeout = Duration::ZERO,
        ];
        for edit in edits {
            let mut bad = base.clone();
            edit(&mut bad);
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.contains("outbound."), "{e}");
        }
    }
}
