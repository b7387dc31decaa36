//! The references with no HTTP: lanes that call the store (or the delete groups) directly,
//! doing what an endpoint's handler does, for the load generator to drive like connections.

use std::sync::Arc;

use async_trait::async_trait;
use i2v::clock::now_ms;
use i2v::domain::ObjectId;
use i2v::store::Store;

use crate::load::Lane;

/// The bare store loop: the delete transaction the endpoint runs, with no HTTP around it.
pub struct StoreLane {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Lane for StoreLane {
    type Item = (i64, Vec<ObjectId>);

    async fn call(&mut self, (uid, ids): &Self::Item) -> anyhow::Result<bool> {
        let outcome = self.store.delete_videos(*uid, ids, now_ms()).await?;
        Ok(outcome.deleted.len() == ids.len())
    }
}

/// The same loop through `App::deletes`, the group-commit path delbyids takes, with no HTTP.
pub struct GroupedLane {
    pub app: i2v::App,
}

#[async_trait]
impl Lane for GroupedLane {
    type Item = (i64, Vec<ObjectId>);

    async fn call(&mut self, (uid, ids): &Self::Item) -> anyhow::Result<bool> {
        let outcome = self.app.deletes.delete(*uid, ids.clone()).await?;
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
