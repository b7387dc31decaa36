//! One configuration tree. Precedence, lowest first: built-in defaults, the TOML file
//! (`--config`/`I2V_CONFIG`), `I2V_*` environment variables, command-line flags. clap merges the
//! last two; `Overrides` carries them onto the file's values.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::blobs::BlobLocation;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Where the SQLite database, the master key and (by default) output files live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; empty means
    /// `sqlite://<data_dir>/i2v.db`.
    pub database_url: Option<String>,
    /// Where output files live: `file:///ABS/DIR`, `s3://BUCKET[/PREFIX]` or `memory://`; empty
    /// means `<data_dir>/blobs`.
    pub blob_url: Option<String>,
    /// Enables `/_admin/v1/*` when set.
    pub admin_token: Option<String>,
    /// Background render workers; `None` means one per CPU, 0 means none.
    pub workers: Option<usize>,
    /// Lets outbound fetches reach private and loopback addresses (tests, emulator use).
    pub allow_private_urls: bool,
    /// Base URL clients use to reach this server (for `video_url`); defaults to the listen address.
    pub public_url: Option<String>,
    /// 32-byte key (64 hex digits) that seals client secrets and signs tokens. When unset, a key
    /// is generated once into `<data_dir>/master.key`.
    pub master_key: Option<String>,
    pub server: Server,
    pub database: Database,
    pub limits: Limits,
    pub tokens: Tokens,
    pub auth: Auth,
    pub sweeper: Sweeper,
    pub render: Render,
    pub jobs: Jobs,
    pub retention: Retention,
    pub outbound: Outbound,
    pub webhooks: crate::webhooks::WebhookConfig,
    pub blobs: BlobsConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// How clients reach finished files (see `crate::video_urls`).
    pub video_urls: VideoUrlMode,
    /// Lifetime of a presigned `video_url`.
    pub presign_expiry_secs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoUrlMode {
    /// Through this server's `/files/...` route.
    Proxy,
    /// A presigned GET URL straight from the S3 bucket.
    Presigned,
}

/// S3's own ceiling for presigned URLs (7 days).
pub const MAX_PRESIGN_EXPIRY_SECS: u64 = 604_800;

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            video_urls: VideoUrlMode::Proxy,
            presign_expiry_secs: 3600,
        }
    }
}

/// How the HTTP server treats slow, idle and numerous client connections (see
/// `crate::api::server`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// A client must send a request's whole head (request line and headers) within this long of
    /// its first byte; a new connection must send its first request head within this long of
    /// being accepted.
    pub header_read_timeout_ms: u64,
    /// A keep-alive connection with no request in flight is closed after this long; so is one
    /// whose client stops reading a response for this long.
    pub idle_timeout_secs: u64,
    /// A request's body must have arrived this long after its head; a trickling body gets an
    /// error and the connection is closed.
    pub body_read_timeout_secs: u64,
    /// Most client connections open at once. Further clients wait in the listen backlog until
    /// one closes. Lowered at start-up to what the open-file limit leaves room for.
    pub max_connections: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            header_read_timeout_ms: 10_000,
            idle_timeout_secs: 60,
            body_read_timeout_secs: 60,
            max_connections: 1024,
        }
    }
}

/// Connection pool of the store. SQLite serializes writes itself, so these matter most for
/// PostgreSQL, where every `serve` and `worker` process holds up to `max_connections`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection (or for the database to answer a new
    /// one) before it fails; also bounds how long `/readyz` takes to say "unreachable".
    pub acquire_timeout_secs: u64,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            max_connections: 10,
            min_connections: 1,
            acquire_timeout_secs: 5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Render {
    pub fps: u32,
    /// x264 preset (ultrafast .. veryslow) and constant rate factor.
    pub preset: String,
    pub crf: u32,
    /// Upper bound on one ffmpeg run.
    pub timeout_secs: u64,
    pub max_image_bytes: u64,
    pub max_audio_bytes: u64,
    /// Largest image accepted, in pixels (width * height), refused from its header before
    /// decoding; a decode may also use up to 4 bytes per pixel of it (16-bit images count double).
    pub max_image_pixels: u64,
    /// Images decoded at once in this process; each holds its full-size pixels while decoding.
    pub max_concurrent_decodes: usize,
    /// Programs to run; plain names are looked up on PATH.
    pub ffmpeg: String,
    pub ffprobe: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Jobs {
    /// A claim expires this long after the last heartbeat.
    pub lease_ms: u64,
    pub heartbeat_ms: u64,
    /// How often an idle worker looks for work.
    pub poll_ms: u64,
    /// Claims per video before it is failed (and refunded).
    pub max_attempts: i64,
    pub reap_interval_ms: u64,
    /// First delay before retrying a render after a passing fault (image host down, timeout);
    /// doubled per attempt up to `retry_max_ms`, within `max_attempts` claims in all.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// A rendered file is recorded for removal this long after its upload starts unless the
    /// completion takes it back; so a worker killed mid-upload leaves no orphan beyond this.
    /// A worker whose upload used up half of it gives the video back instead of completing.
    pub stage_grace_ms: u64,
    /// Videos a process may fetch inputs for beyond its render slots (`workers`), so that
    /// slow or silent image hosts never hold a render slot.
    pub fetch_slots: usize,
    /// Most videos of one account processing (claimed, fetching or rendering) at once, across
    /// every process sharing the database; the rest wait in the queue.
    pub max_in_flight_per_account: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Output files are removed this many days after completion; 0 keeps them forever.
    pub days: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outbound {
    pub connect_timeout_secs: u64,
    /// Whole-request limit for image, audio and webhook requests.
    pub timeout_secs: u64,
    /// From sending a request until the response headers arrive (redirects included); a host
    /// that never answers fails after this long instead of `timeout_secs`.
    pub first_byte_timeout_secs: u64,
    /// Slowest accepted image or audio body, measured over each `rate_window_secs`; 0 turns
    /// the check off.
    pub min_bytes_per_sec: u64,
    pub rate_window_secs: u64,
}

impl Default for Render {
    fn default() -> Self {
        Render {
            fps: 24,
            preset: "veryfast".into(),
            crf: 20,
            timeout_secs: 600,
            max_image_bytes: 20 * 1024 * 1024,
            max_audio_bytes: 50 * 1024 * 1024,
            max_image_pixels: crate::render::frames::MAX_PIXELS,
            max_concurrent_decodes: 1,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
        }
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            lease_ms: 60_000,
            heartbeat_ms: 15_000,
            poll_ms: 500,
            max_attempts: 3,
            reap_interval_ms: 5_000,
            retry_base_ms: 5_000,
            retry_max_ms: 300_000,
            stage_grace_ms: 3_600_000,
            fetch_slots: 16,
            max_in_flight_per_account: 8,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Retention { days: 7 }
    }
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            connect_timeout_secs: 10,
            timeout_secs: 60,
            first_byte_timeout_secs: 10,
            min_bytes_per_sec: 16 * 1024,
            rate_window_secs: 5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most distinct ids one resultsByIds or delbyids request may name.
    pub ids_per_call: usize,
    /// Largest accepted request body; larger ones get HTTP 413.
    pub max_body_bytes: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// How long a looked-up API key or token account is trusted without asking the store again
    /// (0 = ask every time). Bans and rotations made through this process apply at once; other
    /// processes sharing the database see them within this time.
    pub cache_ttl_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tokens {
    /// Lifetime of tokens from getToken. Akool documents "more than one year".
    pub ttl_days: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sweeper {
    /// How often the file-deletion outbox is drained (it also runs at start-up).
    pub interval_secs: u64,
    /// Upper bound on removing a deleted video's files before answering delbyids; what is not
    /// done by then is left to the sweeper.
    pub inline_delete_timeout_ms: u64,
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
            outbound: Outbound::default(),
            webhooks: crate::webhooks::WebhookConfig::default(),
            blobs: BlobsConfig::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ids_per_call: 100,
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            cache_ttl_ms: 1_000,
        }
    }
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens { ttl_days: 400 }
    }
}

impl Default for Sweeper {
    fn default() -> Self {
        Sweeper {
            interval_secs: 60,
            inline_delete_timeout_ms: 2000,
        }
    }
}

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
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Values given as flags or `I2V_*` variables; each one present replaces the file's value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub blob_url: Option<String>,
    pub admin_token: Option<String>,
    pub workers: Option<usize>,
    pub allow_private_urls: Option<bool>,
    pub public_url: Option<String>,
    pub master_key: Option<String>,
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut config = match file {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.into(),
                    source: Box::new(source),
                })?
            }
        };
        config.apply(overrides);
        config.validate()?;
        Ok(config)
    }

    fn apply(&mut self, o: Overrides) {
        if let Some(v) = o.listen {
            self.listen = v;
        }
        if let Some(v) = o.data_dir {
            self.data_dir = v;
        }
        if o.database_url.is_some() {
            self.database_url = o.database_url;
        }
        if o.blob_url.is_some() {
            self.blob_url = o.blob_url;
        }
        if o.admin_token.is_some() {
            self.admin_token = o.admin_token;
        }
        if o.workers.is_some() {
            self.workers = o.workers;
        }
        if let Some(v) = o.allow_private_urls {
            self.allow_private_urls = v;
        }
        if o.public_url.is_some() {
            self.public_url = o.public_url;
        }
        if o.master_key.is_some() {
            self.master_key = o.master_key;
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self
            .admin_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return bad("admin_token must be at least 16 characters");
        }
        if self.limits.ids_per_call == 0 {
            return bad("limits.ids_per_call must be at least 1");
        }
        if self.limits.max_body_bytes < 1024 {
            return bad("limits.max_body_bytes must be at least 1024");
        }
        let server = &self.server;
        if !(100..=600_000).contains(&server.header_read_timeout_ms) {
            return bad("server.header_read_timeout_ms must be between 100 and 600000");
        }
        if !(1..=86_400).contains(&server.idle_timeout_secs) {
            return bad("server.idle_timeout_secs must be between 1 and 86400");
        }
        if !(1..=86_400).contains(&server.body_read_timeout_secs) {
            return bad("server.body_read_timeout_secs must be between 1 and 86400");
        }
        if !(1..=1_000_000).contains(&server.max_connections) {
            return bad("server.max_connections must be between 1 and 1000000");
        }
        if !(1..=120).contains(&self.render.fps) {
            return bad("render.fps must be between 1 and 120");
        }
        if self.render.crf > 51 {
            return bad("render.crf must be between 0 and 51");
        }
        if self.render.max_image_pixels == 0 || self.render.max_concurrent_decodes == 0 {
            return bad(
                "render.max_image_pixels and render.max_concurrent_decodes must be positive",
            );
        }
        if self.jobs.heartbeat_ms == 0 || self.jobs.heartbeat_ms >= self.jobs.lease_ms {
            return bad("jobs.heartbeat_ms must be positive and shorter than jobs.lease_ms");
        }
        if self.webhooks.max_attempts < 1 || self.webhooks.backoff_base_ms == 0 {
            return bad("webhooks.max_attempts and webhooks.backoff_base_ms must be positive");
        }
        if self.jobs.max_attempts < 1 {
            return bad("jobs.max_attempts must be at least 1");
        }
        if self.jobs.max_in_flight_per_account < 1 {
            return bad("jobs.max_in_flight_per_account must be at least 1");
        }
        if let Some(url) = &self.public_url {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return bad("public_url must start with http:// or https://");
            }
        }
        if let Some(url) = &self.database_url {
            if !url.is_empty() && crate::store::Backend::of_url(url).is_none() {
                return bad("database_url must start with sqlite:, postgres:// or postgresql://");
            }
        }
        let db = &self.database;
        if db.max_connections == 0 || db.min_connections > db.max_connections {
            return bad("database.max_connections must be at least 1 and at least min_connections");
        }
        if self.jobs.stage_grace_ms < 2_000 {
            return bad("jobs.stage_grace_ms must be at least 2000");
        }
        if db.acquire_timeout_secs == 0 {
            return bad("database.acquire_timeout_secs must be at least 1");
        }
        let out = &self.outbound;
        if out.connect_timeout_secs == 0 || out.timeout_secs == 0 {
            return bad(
                "outbound.connect_timeout_secs and outbound.timeout_secs must be at least 1",
            );
        }
        if out.first_byte_timeout_secs == 0 {
            return bad("outbound.first_byte_timeout_secs must be at least 1");
        }
        if !(1..=3600).contains(&out.rate_window_secs) {
            return bad("outbound.rate_window_secs must be between 1 and 3600");
        }
        let blobs = self.blob_location()?;
        if !(1..=MAX_PRESIGN_EXPIRY_SECS).contains(&self.blobs.presign_expiry_secs) {
            return bad("blobs.presign_expiry_secs must be between 1 and 604800 (7 days)");
        }
        if self.blobs.video_urls == VideoUrlMode::Presigned && !blobs.is_s3() {
            return bad(
                "blobs.video_urls = \"presigned\" needs S3 file storage (blob_url = \"s3://BUCKET[/PREFIX]\")",
            );
        }
        Ok(())
    }

    /// Where output files live; `<data_dir>/blobs` unless `blob_url` says otherwise.
    pub fn blob_location(&self) -> Result<BlobLocation, ConfigError> {
        match self.blob_url.as_deref() {
            None | Some("") => Ok(BlobLocation::Local(self.data_dir.join("blobs"))),
            Some(raw) => BlobLocation::parse(raw).map_err(|e| ConfigError::Invalid(e.to_string())),
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("i2v.db").display()),
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

    /// The configuration as TOML with every secret replaced by `"<redacted>"`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        let redact = |v: &mut Option<String>| {
            if v.is_some() {
                *v = Some("<redacted>".into());
            }
        };
        redact(&mut shown.admin_token);
        redact(&mut shown.master_key);
        if let Some(url) = &shown.database_url {
            shown.database_url = Some(redact_url_password(url));
        }
        if let Some(url) = &shown.blob_url {
            shown.blob_url = Some(redact_url_password(url));
        }
        toml::to_string_pretty(&shown).expect("the configuration always serializes")
    }
}

/// A URL with its password (if any) replaced, safe to print or log.
pub fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_env_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2v.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nworkers = 3\n[limits]\nids_per_call = 7\n",
        )
        .unwrap();
        let overrides = Overrides {
            workers: Some(0),
            ..Default::default()
        };
        let config = Config::load(Some(&path), overrides).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.workers, Some(0));
        assert_eq!(config.limits.ids_per_call, 7);
        assert_eq!(config.limits.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors_not_silence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2v.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(matches!(
            Config::load(Some(&path), Overrides::default()),
            Err(ConfigError::Parse { .. })
        ));
    }

    /// How `i2v` prints it (`{:#}` of the anyhow error): the path, then the cause, once.
    fn rendered(err: ConfigError) -> String {
        format!("{:#}", anyhow::Error::from(err))
    }

    #[test]
    fn a_missing_config_file_names_its_path_and_the_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        let err = Config::load(Some(&path), Overrides::default()).unwrap_err();
        let message = rendered(err);
        assert!(message.starts_with("cannot read config file "), "{message}");
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
        assert_eq!(message.matches("(os error ").count(), 1, "{message}");
    }

    #[test]
    fn an_unknown_key_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2v.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let message = rendered(Config::load(Some(&path), Overrides::default()).unwrap_err());
        assert!(message.starts_with("invalid config file "), "{message}");
        assert_eq!(
            message.matches("unknown field `lisen`").count(),
            1,
            "{message}"
        );
        assert_eq!(message.matches("TOML parse error").count(), 1, "{message}");
    }

    #[test]
    fn blob_url_comes_from_the_file_unless_a_flag_or_env_says_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2v.toml");
        std::fs::write(&path, "blob_url = \"s3://from-file/p\"\n").unwrap();
        let from_file = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(
            from_file.blob_location().unwrap(),
            BlobLocation::S3 {
                bucket: "from-file".into(),
                prefix: "p".into()
            }
        );
        let overrides = Overrides {
            blob_url: Some("memory://".into()),
            ..Default::default()
        };
        let flagged = Config::load(Some(&path), overrides).unwrap();
        assert_eq!(flagged.blob_location().unwrap(), BlobLocation::Memory);
    }

    #[test]
    fn without_blob_url_files_live_in_the_data_dir() {
        let config = Config {
            data_dir: "/srv/i2v".into(),
            ..Config::default()
        };
        assert_eq!(
            config.blob_location().unwrap(),
            BlobLocation::Local("/srv/i2v/blobs".into())
        );
    }

    #[test]
    fn a_bad_blob_url_is_a_start_up_error() {
        let config = Config {
            blob_url: Some("ftp://files".into()),
            ..Config::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("blob_url") && err.contains("s3://BUCKET"),
            "{err}"
        );
    }

    #[test]
    fn presigned_urls_need_s3_and_a_sane_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i2v.toml");
        let load = |toml: &str| {
            std::fs::write(&path, toml).unwrap();
            Config::load(Some(&path), Overrides::default())
        };
        let config = load("[blobs]\n").unwrap();
        assert_eq!(config.blobs.video_urls, VideoUrlMode::Proxy);
        assert_eq!(config.blobs.presign_expiry_secs, 3600);

        let err = load("[blobs]\nvideo_urls = \"presigned\"\n").unwrap_err();
        assert!(err.to_string().contains("needs S3"), "{err}");
        let err =
            load("blob_url = \"memory://\"\n[blobs]\nvideo_urls = \"presigned\"\n").unwrap_err();
        assert!(err.to_string().contains("needs S3"), "{err}");

        let s3 = "blob_url = \"s3://b\"\n[blobs]\nvideo_urls = \"presigned\"\n";
        let config = load(&format!("{s3}presign_expiry_secs = 604800\n")).unwrap();
        assert_eq!(config.blobs.video_urls, VideoUrlMode::Presigned);
        for bad in [0, 604_801] {
            let err = load(&format!("{s3}presign_expiry_secs = {bad}\n")).unwrap_err();
            assert!(err.to_string().contains("presign_expiry_secs"), "{err}");
        }
        assert!(matches!(
            load("[blobs]\nvideo_urls = \"direct\"\n"),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn printing_redacts_secrets() {
        let config = Config {
            admin_token: Some("super-secret-admin-token".into()),
            master_key: Some("00".repeat(32)),
            blob_url: Some("s3://AKID:blob-secret@bucket/p".into()),
            ..Config::default()
        };
        let text = config.redacted_toml();
        assert!(!text.contains("blob-secret"), "{text}");
        assert!(text.contains("[blobs]") && text.contains("video_urls = \"proxy\""));
        assert!(!text.contains("super-secret-admin-token"));
        assert!(!text.contains(&"00".repeat(32)));
        assert!(text.contains("<redacted>"));
    }
}
