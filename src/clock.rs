//! Wall-clock time in the units the Akool wire format uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix epoch milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
