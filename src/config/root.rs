//! The root of the configuration tree: the top-level keys and one field per `[section]`; the
//! checks of the whole, and the values derived from it.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::auth::Auth;
use super::blob_location::BlobLocation;
use super::blobs::{BlobsConfig, VideoUrlMode};
use super::comfyui::ComfyUi;
use super::console::Console;
use super::database::{Backend, Database};
use super::emulator::Emulator;
use super::error::{invalid, ConfigError};
use super::jobs::Jobs;
use super::journal::Journal;
use super::limits::Limits;
use super::outbound::Outbound;
use super::render::Render;
use super::retention::Retention;
use super::secret::{self, SecretUrl};
use super::server::Server;
use super::sweeper::Sweeper;
use super::tokens::Tokens;
use super::webhooks::Webhooks;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Where the SQLite database, the master key and (by default) output files live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; empty means
    /// `sqlite://<data_dir>/i2v.db`.
    pub database_url: Option<SecretUrl>,
    /// Where output files live: `file:///ABS/DIR`, `s3://BUCKET[/PREFIX]` or `memory://`; empty
    /// means `<data_dir>/blobs`.
    pub blob_url: Option<SecretUrl>,
    /// Enables `/_admin/v1/*` when set.
    #[serde(serialize_with = "secret::redacted")]
    pub admin_token: Option<SecretString>,
    /// Background render workers; `None` means one per CPU, 0 means none.
    pub workers: Option<usize>,
    /// Lets outbound fetches reach private and loopback addresses (tests, emulator use).
    pub allow_private_urls: bool,
    /// Base URL clients use to reach this server (for `video_url`); defaults to the listen address.
    pub public_url: Option<String>,
    /// 32-byte key (64 hex digits) that seals client secrets and signs tokens. When unset, a key
    /// is generated once into `<data_dir>/master.key`.
    #[serde(serialize_with = "secret::redacted")]
    pub master_key: Option<SecretString>,
    pub server: Server,
    pub database: Database,
    pub limits: Limits,
    pub tokens: Tokens,
    pub auth: Auth,
    pub sweeper: Sweeper,
    pub render: Render,
    pub jobs: Jobs,
    pub retention: Retention,
    pub emulator: Emulator,
    pub journal: Journal,
    pub outbound: Outbound,
    pub webhooks: Webhooks,
    pub blobs: BlobsConfig,
    pub comfyui: ComfyUi,
    pub console: Console,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("i2v-data"),
            database_url: None,
            blob_url: None,
            admin_token: None,
            workers: None,
            allow_private_urls: false,
            public_url: None,
            master_key: None,
            server: Server::default(),
            database: Database::default(),
            limits: Limits::default(),
            tokens: Tokens::default(),
            auth: Auth::default(),
            sweeper: Sweeper::default(),
            render: Render::default(),
            jobs: Jobs::default(),
            retention: Retention::default(),
            emulator: Emulator::default(),
            journal: Journal::default(),
            outbound: Outbound::default(),
            webhooks: Webhooks::default(),
            blobs: BlobsConfig::default(),
            comfyui: ComfyUi::default(),
            console: Console::default(),
        }
    }
}

impl Config {
    /// Every check of every setting, with a message naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().len() < 16)
        {
            return invalid("admin_token must be at least 16 characters");
        }
        if let Some(url) = &self.public_url {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return invalid("public_url must start with http:// or https://");
            }
        }
        if let Some(url) = &self.database_url {
            if !url.is_empty() && Backend::of_url(url.expose_secret()).is_none() {
                return invalid(
                    "database_url must start with sqlite:, postgres:// or postgresql://",
                );
            }
        }
        self.limits.validate()?;
        self.server.validate()?;
        self.render.validate()?;
        self.jobs.validate()?;
        self.webhooks.validate()?;
        self.journal.validate()?;
        self.database.validate()?;
        self.outbound.validate()?;
        self.comfyui.validate()?;
        let location = self.blob_location()?;
        self.blobs.validate()?;
        if self.blobs.video_urls == VideoUrlMode::Presigned && !location.is_s3() {
            return invalid(
                "blobs.video_urls = \"presigned\" needs S3 file storage (blob_url = \"s3://BUCKET[/PREFIX]\")",
            );
        }
        Ok(())
    }

    /// Where output files live; `<data_dir>/blobs` unless `blob_url` says otherwise.
    pub fn blob_location(&self) -> Result<BlobLocation, ConfigError> {
        match &self.blob_url {
            Some(url) if !url.is_empty() => BlobLocation::parse(url.expose_secret())
                .map_err(|e| ConfigError::Invalid(e.to_string())),
            _ => Ok(BlobLocation::Local(self.data_dir.join("blobs"))),
        }
    }

    /// The database to open; its `Display` hides the password.
    pub fn database_url(&self) -> SecretUrl {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("i2v.db").display()).into(),
        }
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The configuration as TOML; secrets show as `"<redacted>"` (they serialize so).
    pub fn redacted_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}
