//! Everything a request or a background task needs, built once from the configuration.

use std::sync::Arc;

use anyhow::Context;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::domain::catalogue::Catalogue;
use crate::keys::Keys;
use crate::store::{SqliteStore, Store};

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub blobs: Blobs,
    pub keys: Arc<Keys>,
    pub catalogue: &'static Catalogue,
}

impl App {
    /// Opens the store (running migrations), the file storage and the master key.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        let url = config.database_url();
        let store = SqliteStore::open(&url)
            .await
            .with_context(|| format!("cannot open the database at {}", redact(&url)))?;
        let blobs = Blobs::local(&config.data_dir.join("blobs"))?;
        let keys = Keys::load(config.master_key.as_deref(), &config.data_dir)?;
        Ok(App {
            config: Arc::new(config),
            store: Arc::new(store),
            blobs,
            keys: Arc::new(keys),
            catalogue: Catalogue::builtin(),
        })
    }
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("<credentials>@{host}"),
        None => url.to_owned(),
    }
}
