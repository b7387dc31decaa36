//! The layers, lowest first: built-in defaults, the TOML file, `I2V_*` environment variables
//! (see `env`), flags. figment merges them value by value and remembers which layer each value
//! came from, which `i2v config print` shows (see `origin`).

use std::path::{Path, PathBuf};

use figment::value::{Dict, Value};
use figment::Figment;
use serde::Serialize;

use super::env;
use super::error::ConfigError;
use super::origin::{Kind, Layer, Origin, Origins};
use super::root::Config;

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
        Ok(Sources {
            file,
            env: env::process_vars()?,
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
        let env = env::settings(&self.env, &defaults)?;
        figment = figment
            .merge(Layer::new(Kind::Env, env))
            .merge(Layer::new(Kind::Flag, serialized(&self.flags)?));
        let mut config: Config = figment.extract_lossy().map_err(value_error)?;
        config.comfyui.base_dir = self
            .file
            .and_then(Path::parent)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(Path::to_path_buf);
        config.validate()?;
        Ok(Loaded {
            config,
            origins: Origins::new(figment),
        })
    }
}

/// A settings struct as a tree of figment values; `None`s stay, as empty values, so every key
/// of a `Config` is there.
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
