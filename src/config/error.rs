//! What can go wrong while loading the configuration; each message names the key, and for a
//! value from the environment the variable too.

use std::path::PathBuf;

/// The cause of `Read` and `Parse` is their `source()`, not part of their message: error
/// reporters (anyhow's `{:#}`, `Caused by:`) print the chain, so naming it twice repeated it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    /// A value from the environment (or a flag) that does not fit its key.
    #[error("invalid value for {key} from {origin}: {reason}")]
    Value {
        key: String,
        origin: String,
        reason: String,
    },
    /// `I2V_<SECTION>__<KEY>` naming a section that has no such key.
    #[error("unknown setting {var}: [{section}] has no key {key:?}")]
    UnknownVariable {
        var: String,
        section: String,
        key: String,
    },
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The result of a failed check: `Err(Invalid(message))`.
pub(crate) fn invalid(message: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid(message.to_owned()))
}
