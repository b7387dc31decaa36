//! Everything a request or a background task needs, built once from the configuration.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::domain::catalogue::Catalogue;
use crate::jobs::JobSettings;
use crate::keys::Keys;
use crate::net::{NetPolicy, Outbound};
use crate::render::{FfmpegRenderer, RenderSettings, Renderer};
use crate::service::auth_cache::AuthCache;
use crate::store::{PoolSettings, Store};
use crate::video_urls::VideoUrls;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub blobs: Blobs,
    /// Builds every `video_url` handed out (results and webhooks).
    pub video_urls: VideoUrls,
    pub keys: Arc<Keys>,
    /// Recently seen credentials (see `service::auth_cache`).
    pub auth_cache: Arc<AuthCache>,
    pub outbound: Outbound,
    pub renderer: Arc<dyn Renderer>,
    pub jobs: JobSettings,
    /// What can be ordered: the active render backend's catalogue.
    pub catalogue: &'static Catalogue,
}

impl App {
    /// Opens the store (running migrations), the file storage and the master key, with the
    /// built-in ffmpeg renderer.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        config.validate()?;
        let outbound = Outbound::new(NetPolicy {
            allow_private: config.allow_private_urls,
            connect_timeout: Duration::from_secs(config.outbound.connect_timeout_secs),
            timeout: Duration::from_secs(config.outbound.timeout_secs),
            first_byte_timeout: Duration::from_secs(config.outbound.first_byte_timeout_secs),
            min_bytes_per_sec: config.outbound.min_bytes_per_sec,
            rate_window: Duration::from_secs(config.outbound.rate_window_secs),
        });
        let r = &config.render;
        let settings = RenderSettings {
            fps: r.fps,
            preset: r.preset.clone(),
            crf: r.crf,
            max_image_pixels: r.max_image_pixels,
            max_concurrent_decodes: r.max_concurrent_decodes,
            timeout: Duration::from_secs(r.timeout_secs),
            max_concurrent: config.worker_count().max(1),
            ffmpeg: r.ffmpeg.clone(),
            ffprobe: r.ffprobe.clone(),
        };
        let renderer = Arc::new(FfmpegRenderer::new(settings));
        App::build_with(config, renderer, outbound).await
    }

    /// Like `build`, with another render backend.
    pub async fn build_with(
        config: Config,
        renderer: Arc<dyn Renderer>,
        outbound: Outbound,
    ) -> anyhow::Result<App> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        let url = config.database_url();
        let db = &config.database;
        let pool = PoolSettings {
            max_connections: db.max_connections,
            min_connections: db.min_connections,
            acquire_timeout: Duration::from_secs(db.acquire_timeout_secs),
        };
        let store = crate::store::open(&url, &pool).await.with_context(|| {
            format!(
                "cannot open the database at {}",
                crate::config::redact_url_password(&url)
            )
        })?;
        let location = config.blob_location()?;
        let blobs = Blobs::open(&location)
            .with_context(|| format!("cannot open the file storage at {location}"))?;
        let video_urls = VideoUrls::new(&config, &blobs);
        let keys = Keys::load(config.master_key.as_deref(), &config.data_dir)?;
        let j = &config.jobs;
        let jobs = JobSettings {
            lease: Duration::from_millis(j.lease_ms),
            heartbeat: Duration::from_millis(j.heartbeat_ms),
            poll: Duration::from_millis(j.poll_ms),
            max_attempts: j.max_attempts,
            reap_interval: Duration::from_millis(j.reap_interval_ms),
            retry_base: Duration::from_millis(j.retry_base_ms),
            retry_max: Duration::from_millis(j.retry_max_ms),
            stage_grace: Duration::from_millis(j.stage_grace_ms),
            fetch_slots: j.fetch_slots,
            max_in_flight_per_account: j.max_in_flight_per_account,
        };
        let auth_cache = Arc::new(AuthCache::new(Duration::from_millis(
            config.auth.cache_ttl_ms,
        )));
        Ok(App {
            catalogue: renderer.catalogue(),
            config: Arc::new(config),
            store,
            blobs,
            video_urls,
            keys: Arc::new(keys),
            auth_cache,
            outbound,
            renderer,
            jobs,
        })
    }
}
