//! Where each value came from: every layer carries figment metadata naming its kind, and the
//! env and flag layers name each value's variable or flag from its key path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use figment::value::Dict;
use figment::{Figment, Metadata, Profile, Provider};

use super::env;

/// Where one value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    /// The variable's name.
    Env(String),
    /// The flag, `--data-dir`.
    Flag(String),
}

impl Origin {
    /// The origin of the value at `keys` that the layer described by `metadata` gave.
    pub(super) fn of(metadata: &Metadata, keys: &[&str]) -> Origin {
        let name = || metadata.interpolate(&Profile::Default, keys);
        match metadata.name.as_ref() {
            FILE => metadata
                .source
                .as_ref()
                .and_then(|s| s.file_path())
                .map_or(Origin::Default, |p| Origin::File(p.into())),
            ENV => Origin::Env(name()),
            FLAG => Origin::Flag(name()),
            _ => Origin::Default,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str(DEFAULT),
            Origin::File(path) => write!(f, "{FILE} {}", path.display()),
            Origin::Env(var) => write!(f, "{ENV} {var}"),
            Origin::Flag(flag) => write!(f, "{FLAG} {flag}"),
        }
    }
}

/// The layers' names in figment's metadata, which is how a value's origin is found again.
const DEFAULT: &str = "default";
const FILE: &str = "file";
const ENV: &str = "env";
const FLAG: &str = "flag";

/// Which layer each value of a loaded configuration came from.
pub struct Origins {
    figment: Figment,
}

impl Origins {
    pub(super) fn new(figment: Figment) -> Origins {
        Origins { figment }
    }

    /// The origin of `key` (`listen`, `webhooks.poll_ms`); `None` for a key that does not exist.
    pub fn of(&self, key: &str) -> Option<Origin> {
        let metadata = self.figment.find_metadata(key)?;
        let keys: Vec<&str> = key.split('.').collect();
        Some(Origin::of(metadata, &keys))
    }
}

/// Which kind of source a layer is.
pub(super) enum Kind {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

/// One layer: a tree of values, and which kind of source gave them.
pub(super) struct Layer {
    kind: Kind,
    values: Dict,
}

impl Layer {
    pub(super) fn new(kind: Kind, values: Dict) -> Layer {
        Layer { kind, values }
    }
}

impl Provider for Layer {
    /// Env and flag layers name each value's variable or flag from its key path.
    fn metadata(&self) -> Metadata {
        match &self.kind {
            Kind::Default => Metadata::named(DEFAULT),
            Kind::File(path) => Metadata::from(FILE, path.as_path()),
            Kind::Env => Metadata::named(ENV).interpolater(|_, keys| env::name(keys)),
            Kind::Flag => Metadata::named(FLAG)
                .interpolater(|_, keys| format!("--{}", keys.join("-").replace('_', "-"))),
        }
    }

    fn data(&self) -> Result<BTreeMap<Profile, Dict>, figment::Error> {
        Ok(BTreeMap::from([(Profile::Default, self.values.clone())]))
    }
}
