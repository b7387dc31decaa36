//! Output files, behind `object_store` so that a local directory (default), S3 or memory are
//! interchangeable. Keys are `videos/<_id>/<attempt-nonce>.mp4`: each render attempt writes its
//! own key, so a stale worker can never overwrite (or have removed) a newer attempt's file.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Clone)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
}

#[derive(Debug, thiserror::Error)]
#[error("file storage error: {0}")]
pub struct BlobError(#[from] object_store::Error);

impl Blobs {
    /// Files under `dir`, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            BlobError(object_store::Error::Generic {
                store: "local",
                source: Box::new(e),
            })
        })?;
        Ok(Blobs {
            inner: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
        })
    }

    pub fn in_memory() -> Blobs {
        Blobs {
            inner: Arc::new(InMemory::new()),
        }
    }

    pub fn key_for(video_id: &str, attempt: &str) -> String {
        format!("videos/{video_id}/{attempt}.mp4")
    }

    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        self.inner
            .put(&Path::from(key), PutPayload::from(data))
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match self.inner.get(&Path::from(key)).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The whole file as a stream of chunks, for serving without holding it in memory.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<Option<BoxStream<'static, Result<Bytes, BlobError>>>, BlobError> {
        match self.inner.get(&Path::from(key)).await {
            Ok(found) => Ok(Some(found.into_stream().map_err(BlobError::from).boxed())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The file's size in bytes; `None` when it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match self.inner.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Bytes `start..end` (end exclusive) of the file.
    pub async fn get_range(&self, key: &str, start: u64, end: u64) -> Result<Bytes, BlobError> {
        Ok(self.inner.get_range(&Path::from(key), start..end).await?)
    }

    /// Removes the file; a file that is already gone counts as removed.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every key stored (for audits and tests; not for request paths).
    pub async fn list_keys(&self) -> Result<Vec<String>, BlobError> {
        let metas: Vec<_> = self.inner.list(None).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}
