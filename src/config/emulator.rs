//! `[emulator]`: the test controls' server-wide defaults (the admin API sets them per account).

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::emulation::Lifecycle;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Emulator {
    /// How new videos of accounts that set no lifecycle move: a table such as
    /// `{ mode = "timed", processing_after_ms = 1000, complete_after_ms = 5000 }`, or a bare
    /// mode name (`"render"`, `"instant"`, `"manual"`).
    #[serde(deserialize_with = "lifecycle")]
    pub lifecycle: Lifecycle,
}

fn lifecycle<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lifecycle, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Lifecycle::from_json(&value).map_err(serde::de::Error::custom)
}
