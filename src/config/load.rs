//! The layers, lowest first: built-in defaults, the TOML file, `I2V_*` environment variables,
//! flags. figment merges them value by value and remembers which layer each value came from,
//! which `i2v config print` shows (see `Origins`).
//!
//! The environment names follow the keys: `I2V_<KEY>` for a top-level key (`I2V_LISTEN`),
//! `I2V_<SECTION>__<KEY>` for one in a section (`I2V_WEBHOOKS__BACKOFF_BASE_MS`). Other `I2V_*`
//! variables (`I2V_CONFIG`, the ones `i2v dev` writes, test switches) are not settings and are
//! left alone, except that a known section with an unknown key is an error: that is a typo.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use super::error::ConfigError;
use super::root::Config;

const ENV_PREFIX: &str = "I2V_";
const SECTION_SEPARATOR: &str = "__";

/// Values given as flags; each one present replaces what the lower layers say.
#[derive(Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<std::net::SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_private_urls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key: Option<String>,
}

impl Config {
    /// Loads the layers from the file, this process's environment and `flags`, and checks the
    /// result; `Sources` does the same with every layer given explicitly.
    pub fn load(file: Option<&Path>, flags: Overrides) -> Result<Config, ConfigError> {
        Ok(Sources::from_process(file, flags)?.load()?.config)
    }
}

/// Everything a configuration is made from.
#[derive(Clone, Default)]
pub struct Sources<'a> {
    /// Changes to the built-in defaults (`i2v dev` keeps its data in `./i2v-dev`): below the
    /// file, unlike flags.
    pub defaults: Overrides,
    pub file: Option<&'a Path>,
    /// Environment variables; only the `I2V_*` ones that name a setting are read.
    pub env: Vec<(String, String)>,
    pub flags: Overrides,
}

/// A checked configuration and where each of its values came from.
pub struct Loaded {
    pub config: Config,
    pub origins: Origins,
}

impl<'a> Sources<'a> {
    /// The file and flags given, with this process's environment.
    pub fn from_process(file: Option<&'a Path>, flags: Overrides) -> Result<Self, ConfigError> {
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
                continue;
            };
            let value = value
                .into_string()
                .map_err(|_| ConfigError::NotUnicode(name.to_owned()))?;
            env.push((name.to_owned(), value));
        }
        Ok(Sources {
            file,
            env,
            flags,
            ..Sources::default()
        })
    }

    pub fn load(&self) -> Result<Loaded, ConfigError> {
        let defaults = serialized(&Config::default())?;
        let mut figment = Figment::from(Layer::new(Kind::Default, defaults.clone()))
            .merge(Layer::new(Kind::Default, serialized(&self.defaults)?));
        if let Some(path) = self.file {
            figment = figment.merge(Layer::new(Kind::File(path.into()), read_file(path)?));
        }
        let env = env_settings(&self.env, &defaults)?;
        figment = figment
            .merge(Layer::new(Kind::Env, env))
            .merge(Layer::new(Kind::Flag, serialized(&self.flags)?));
        let config: Config = figment.extract_lossy().map_err(value_error)?;
        config.validate()?;
        Ok(Loaded {
            config,
            origins: Origins { figment },
        })
    }
}

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
    fn of(metadata: &Metadata, keys: &[&str]) -> Origin {
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
    /// The origin of `key` (`listen`, `webhooks.poll_ms`); `None` for a key that does not exist.
    pub fn of(&self, key: &str) -> Option<Origin> {
        let metadata = self.figment.find_metadata(key)?;
        let keys: Vec<&str> = key.split('.').collect();
        Some(Origin::of(metadata, &keys))
    }
}

/// The environment variable of a key path: `I2V_LISTEN`, `I2V_WEBHOOKS__POLL_MS`.
pub(super) fn env_name<K: AsRef<str>>(keys: &[K]) -> String {
    let keys: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    format!(
        "{ENV_PREFIX}{}",
        keys.join(SECTION_SEPARATOR).to_ascii_uppercase()
    )
}

enum Kind {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

/// One layer: a tree of values, and which kind of source gave them.
struct Layer {
    kind: Kind,
    values: Dict,
}

impl Layer {
    fn new(kind: Kind, values: Dict) -> Layer {
        Layer { kind, values }
    }
}

impl Provider for Layer {
    /// Env and flag layers name each value's variable or flag from its key path.
    fn metadata(&self) -> Metadata {
        match &self.kind {
            Kind::Default => Metadata::named(DEFAULT),
            Kind::File(path) => Metadata::from(FILE, path.as_path()),
            Kind::Env => Metadata::named(ENV).interpolater(|_, keys| env_name(keys)),
            Kind::Flag => Metadata::named(FLAG)
                .interpolater(|_, keys| format!("--{}", keys.join("-").replace('_', "-"))),
        }
    }

    fn data(&self) -> Result<BTreeMap<Profile, Dict>, figment::Error> {
        Ok(BTreeMap::from([(Profile::Default, self.values.clone())]))
    }
}

pub(super) fn serialized(value: &impl Serialize) -> Result<Dict, ConfigError> {
    match Value::serialize(value) {
        Ok(Value::Dict(_, dict)) => Ok(dict),
        Ok(_) => Err(ConfigError::Invalid("settings must be a table".into())),
        Err(e) => Err(ConfigError::Invalid(e.to_string())),
    }
}

/// The file's values. It is read as a whole configuration first, so that an unknown key or a
/// value of the wrong type is reported with its line and column, as it always was.
fn read_file(path: &Path) -> Result<Dict, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    let parse_error = |source| ConfigError::Parse {
        path: path.into(),
        source: Box::new(source),
    };
    toml::from_str::<Config>(&text).map_err(parse_error)?;
    toml::from_str::<Dict>(&text).map_err(parse_error)
}

/// The settings among `vars`, as text: the key's type decides how it is read (`extract_lossy`
/// turns "30000" into a number and "true" into a boolean where one is expected). An empty
/// variable counts as unset.
fn env_settings(vars: &[(String, String)], defaults: &Dict) -> Result<Dict, ConfigError> {
    let mut settings = Dict::new();
    for (var, value) in vars {
        let Some(name) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let name = name.to_ascii_lowercase();
        let value = Value::from(value.clone());
        match name.split_once(SECTION_SEPARATOR) {
            None => {
                if defaults.get(&name).is_some_and(|v| v.as_dict().is_none()) {
                    settings.insert(name, value);
                }
            }
            Some((section, key)) => {
                let Some(known) = defaults.get(section).and_then(Value::as_dict) else {
                    continue;
                };
                if !known.contains_key(key) {
                    return Err(ConfigError::UnknownVariable {
                        var: var.clone(),
                        section: section.to_owned(),
                        key: key.to_owned(),
                    });
                }
                let entry = settings
                    .entry(section.to_owned())
                    .or_insert_with(|| Dict::new().into());
                if let Value::Dict(_, dict) = entry {
                    dict.insert(key.to_owned(), value);
                }
            }
        }
    }
    Ok(settings)
}

/// A value that does not fit its key, named by key and by where it came from.
fn value_error(error: figment::Error) -> ConfigError {
    let first = error.into_iter().next();
    let Some(e) = first else {
        return ConfigError::Invalid("unreadable settings".into());
    };
    let keys: Vec<&str> = e.path.iter().map(String::as_str).collect();
    let origin = e
        .metadata
        .as_ref()
        .map_or(Origin::Default, |m| Origin::of(m, &keys));
    ConfigError::Value {
        key: e.path.join("."),
        origin: origin.to_string(),
        reason: e.kind.to_string(),
    }
}
