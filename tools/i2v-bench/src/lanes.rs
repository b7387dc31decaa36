//! The references with no HTTP: lanes that call the store (or the delete groups) directly,
//! doing what an endpoint's handler does, for the load generator to drive like connections.

use std::sync::Arc;

use async_trait::async_trait;
use i2v::clock::now_ms;
use i2v::domain::spec::VideoSpec;
use i2v::domain::ObjectId;
use i2v::domain::VideoKind;
use i2v::service::Caller;
use i2v::store::{Backend, PoolSettings, SqliteStore, Store};

use crate::load::Lane;

/// The bare store loop: one delete transaction per call (no group commit), with no HTTP around
/// it.
pub struct StoreLane {
    pub store: Arc<dyn Store>,
}

impl StoreLane {
    /// The store for the bare loop: on SQLite a second one on the app's database, opened without
    /// group commit, so that each call is its own transaction (the reference grouping is measured
    /// against); on PostgreSQL, which never groups, the app's own.
    pub async fn store_of(app: &i2v::App) -> anyhow::Result<Arc<dyn Store>> {
        let url = app.config.database_url();
        if Backend::of_url(url.expose_secret()) != Some(Backend::Sqlite) {
            return Ok(app.store.clone());
        }
        let pool = PoolSettings::default();
        Ok(Arc::new(
            SqliteStore::open_without_group_commit(url.expose_secret(), &pool).await?,
        ))
    }
}

#[async_trait]
impl Lane for StoreLane {
    type Item = (i64, Vec<ObjectId>);

    async fn call(&mut self, (uid, ids): &Self::Item) -> anyhow::Result<bool> {
        let outcome = self.store.delete_videos(*uid, ids, now_ms()).await?;
        Ok(outcome.deleted.len() == ids.len())
    }
}

/// The same loop through the app's store, the path delbyids takes (on SQLite the store commits
/// concurrent deletes together), with no HTTP.
pub struct GroupedLane {
    pub app: i2v::App,
}

#[async_trait]
impl Lane for GroupedLane {
    type Item = (i64, Vec<ObjectId>);

    async fn call(&mut self, (uid, ids): &Self::Item) -> anyhow::Result<bool> {
        let outcome = self.app.store.delete_videos(*uid, ids, now_ms()).await?;
        Ok(outcome.deleted.len() == ids.len())
    }
}

/// resultsByIds without HTTP: the two store reads the endpoint makes (the caller by key hash,
/// then the videos), to tell the store's cost from the HTTP and JSON around it.
pub struct ReadLane {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Lane for ReadLane {
    type Item = (String, i64, Vec<ObjectId>);

    async fn call(&mut self, (key_hash, uid, ids): &Self::Item) -> anyhow::Result<bool> {
        let caller = self.store.auth_by_key_hash(key_hash).await?;
        let found = self.store.videos_by_ids(*uid, ids).await?;
        Ok(caller.is_some() && found.len() == ids.len())
    }
}

/// createBySourcePrompt without HTTP: the charged insert of one video its handler makes
/// (`service::videos::create`), from a request body parsed once.
pub struct CreateLane {
    pub app: i2v::App,
    pub spec: Arc<VideoSpec>,
}

#[async_trait]
impl Lane for CreateLane {
    type Item = Caller;

    async fn call(&mut self, caller: &Self::Item) -> anyhow::Result<bool> {
        let made =
            i2v::service::videos::create(&self.app, caller, &self.spec, 1, VideoKind::Single)
                .await?;
        Ok(made.len() == 1)
    }
}
