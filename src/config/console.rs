//! `[console]`: the web console at `/console/` (README "Web console").

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Console {
    /// Serves `/console/`: pages that call the API with the credentials typed into them.
    pub enabled: bool,
}

impl Default for Console {
    fn default() -> Self {
        Console { enabled: true }
    }
}
