//! Everything a request or a background task needs, built once from the configuration.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::auth_cache::AuthCache;
use crate::blobs::Blobs;
use crate::config::Config;
use crate::domain::catalogue::Catalogue;
use crate::journal::Recorder;
use crate::keys::Keys;
use crate::net::{NetPolicy, Outbound};
use crate::render::{Renderer, StillClips};
use crate::store::Store;
use crate::video_urls::VideoUrls;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub blobs: Blobs,
    /// Builds every `video_url` handed out (results and webhooks).
    pub video_urls: VideoUrls,
    pub keys: Arc<Keys>,
    /// Recently seen credentials (see `auth_cache`).
    pub auth_cache: Arc<AuthCache>,
    pub outbound: Outbound,
    pub renderer: Arc<dyn Renderer>,
    /// What can be ordered: the active render backend's catalogue.
    pub catalogue: &'static Catalogue,
    /// The MP4s of emulated and seeded videos (emulator controls), encoded once per size.
    pub clips: StillClips,
    /// What the Akool routes were sent and answered (admin API), on its way to the store.
    pub journal: Arc<Recorder>,
}

impl App {
    /// Opens the store (running migrations), the file storage and the master key, with the
    /// render backends the configuration names (the built-in one, and ComfyUI's models).
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let outbound = Outbound::new(net_policy(&config));
        let renderer = crate::render::renderer_for(&config)?;
        App::build_with(config, renderer, outbound).await
    }

    /// Like `build`, with another render backend.
    pub async fn build_with(
        config: Config,
        renderer: Arc<dyn Renderer>,
        outbound: Outbound,
    ) -> anyhow::Result<App> {
        config.validate()?;
        crate::allocator::return_large_buffers_to_os();
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        let url = config.database_url();
        let store = crate::store::open(url.expose_secret(), &config.database)
            .await
            .with_context(|| format!("cannot open the database at {url}"))?;
        let location = config.blob_location()?;
        let blobs = Blobs::open(&location)
            .with_context(|| format!("cannot open the file storage at {location}"))?;
        let video_urls = VideoUrls::new(&config, &blobs);
        let master_key = config.master_key.as_ref().map(ExposeSecret::expose_secret);
        let keys = Keys::load(master_key, &config.data_dir)?;
        let auth_cache = Arc::new(AuthCache::new(config.auth.cache_ttl));
        let clips = StillClips::new(
            config.render.ffmpeg.clone(),
            config.data_dir.join("tmp"),
            config.render.timeout,
        );
        let journal = Arc::new(Recorder::new(store.clone(), &config.journal));
        Ok(App {
            clips,
            journal,
            catalogue: renderer.catalogue(),
            config: Arc::new(config),
            store,
            blobs,
            video_urls,
            keys: Arc::new(keys),
            auth_cache,
            outbound,
            renderer,
        })
    }
}

/// `[outbound]` and `allow_private_urls` as the HTTP client's policy.
fn net_policy(config: &Config) -> NetPolicy {
    let out = &config.outbound;
    NetPolicy {
        allow_private: config.allow_private_urls,
        connect_timeout: out.connect_timeout,
        timeout: out.timeout,
        first_byte_timeout: out.first_byte_timeout,
        min_bytes_per_sec: out.min_bytes_per_sec,
        rate_window: out.rate_window,
    }
}
