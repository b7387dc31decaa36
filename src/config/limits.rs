//! `[limits]`: how much one request may ask for.

use serde::{Deserialize, Serialize};

use super::error::{invalid, ConfigError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most distinct ids one resultsByIds or delbyids request may name.
    pub ids_per_call: usize,
    /// Largest accepted request body; larger ones get HTTP 413.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ids_per_call: 100,
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Limits {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ids_per_call == 0 {
            return invalid("limits.ids_per_call must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            return invalid("limits.max_body_bytes must be at least 1024");
        }
        Ok(())
    }
}
