//! Output files, behind `object_store` so that a local directory (default), S3 or memory are
//! interchangeable. Keys are `videos/<_id>/<attempt-nonce>.mp4`: each render attempt writes its
//! own key, so a stale worker can never overwrite (or have removed) a newer attempt's file.
//! With an S3 prefix every key lives under it; callers never see the prefix.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Where the files live is configuration (checked at load); this module opens it.
pub use crate::config::{BadBlobUrl, BlobLocation};

/// Further tries of a local upload that failed (see `Blobs::put`).
const LOCAL_PUT_RETRIES: u32 = 3;

#[derive(Clone)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
    /// Present when the backend can hand out presigned URLs (S3).
    signer: Option<Arc<dyn Signer>>,
    /// A local directory, whose uploads can race the removal of emptied directories.
    local: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("file storage error: {0}")]
pub struct BlobError(#[from] object_store::Error);

impl Blobs {
    /// Opens the storage at `location`. Nothing is contacted yet: S3 credentials and reachability
    /// show up on the first request.
    pub fn open(location: &BlobLocation) -> Result<Blobs, BlobError> {
        match location {
            BlobLocation::Local(dir) => Blobs::local(dir),
            BlobLocation::Memory => Ok(Blobs::in_memory()),
            BlobLocation::S3 { bucket, prefix } => {
                // Region, credentials, AWS_ENDPOINT_URL and AWS_ALLOW_HTTP come from the
                // environment; the bucket only from blob_url.
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?;
                Ok(if prefix.is_empty() {
                    Blobs::signing(s3)
                } else {
                    Blobs::signing(PrefixStore::new(s3, prefix.as_str()))
                })
            }
        }
    }

    fn signing<S: ObjectStore + Signer>(store: S) -> Blobs {
        let store = Arc::new(store);
        Blobs {
            inner: store.clone(),
            signer: Some(store),
            local: false,
        }
    }

    /// Files under `dir`, created if missing.
    pub fn local(dir: &std::path::Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            BlobError(object_store::Error::Generic {
                store: "local",
                source: Box::new(e),
            })
        })?;
        // Each video's files live in their own `videos/<_id>/` directory; without the cleanup
        // every deleted video would leave an empty one behind forever. After removing a file,
        // object_store removes its parent directories while they are empty, stopping at `dir`.
        // An upload into a directory being removed is safe: its staging file keeps the
        // directory non-empty, a missing directory is created again, and `put` tries again
        // when creating it lost the race.
        let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Blobs {
            inner: Arc::new(store),
            signer: None,
            local: true,
        })
    }

    pub fn in_memory() -> Blobs {
        Blobs {
            inner: Arc::new(InMemory::new()),
            signer: None,
            local: false,
        }
    }

    pub fn key_for(video_id: &str, attempt: &str) -> String {
        format!("videos/{video_id}/{attempt}.mp4")
    }

    /// The poster (a JPEG frame, the console's thumbnail) that goes with the video file `key`:
    /// `videos/<id>/<attempt>.jpg`. Its life is the video file's: written under the same
    /// deletion-outbox row before the video file, and removed by [`Blobs::delete`] with it.
    pub fn poster_key(key: &str) -> Option<String> {
        key.strip_suffix(".mp4").map(|stem| format!("{stem}.jpg"))
    }

    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        let path = Path::from(key);
        let payload = PutPayload::from(data);
        let mut retries = LOCAL_PUT_RETRIES;
        loop {
            match self.inner.put(&path, payload.clone()).await {
                Ok(_) => return Ok(()),
                // A removal that empties a directory deletes it (see `local`). Creating the
                // staging file retries by itself when its directory vanished, but the `mkdir`
                // of the directories themselves fails when a parent is removed between two of
                // them; the next try creates them afresh.
                Err(_) if self.local && retries > 0 => retries -= 1,
                Err(e) => return Err(e.into()),
            }
        }
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

    /// Removes the file, and a video file's poster after it; a file that is already gone counts
    /// as removed. Every removal of a video file (delete, retention, the outbox sweeper, a lost
    /// lease) comes here, so a poster never outlives its video: if the poster's removal fails,
    /// the caller's outbox row stays and the next sweep removes it.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.delete_one(key).await?;
        match Blobs::poster_key(key) {
            Some(poster) => self.delete_one(&poster).await,
            None => Ok(()),
        }
    }

    async fn delete_one(&self, key: &str) -> Result<(), BlobError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A URL that lets anyone holding it GET the file straight from the backend until
    /// `expires_in` has passed (or the file is removed). Only S3 can sign.
    pub async fn presigned_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, BlobError> {
        let Some(signer) = &self.signer else {
            return Err(BlobError(object_store::Error::NotSupported {
                source: "presigned URLs need S3 file storage".into(),
            }));
        };
        let url = signer
            .signed_url(Method::GET, &Path::from(key), expires_in)
            .await?;
        Ok(url.to_string())
    }

    /// Every key stored (for audits and tests; not for request paths).
    pub async fn list_keys(&self) -> Result<Vec<String>, BlobError> {
        let metas: Vec<_> = self.inner.list(None).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_s3_hands_out_presigned_urls() {
        let blobs = Blobs::open(&BlobLocation::Memory).unwrap();
        let err = blobs
            .presigned_get("videos/x/a.mp4", Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("need S3"), "{err}");
    }

    #[tokio::test]
    async fn a_video_file_goes_with_its_poster() {
        let blobs = Blobs::in_memory();
        let video = Blobs::key_for("6b0f00000000000000000001", "a1");
        let poster = Blobs::poster_key(&video).unwrap();
        assert_eq!(poster, "videos/6b0f00000000000000000001/a1.jpg");
        assert_eq!(Blobs::poster_key(&poster), None, "a poster has no poster");
        blobs.put(&video, Bytes::from_static(b"mp4")).await.unwrap();
        blobs
            .put(&poster, Bytes::from_static(b"jpg"))
            .await
            .unwrap();
        blobs.delete(&video).await.unwrap();
        assert!(blobs.list_keys().await.unwrap().is_empty());
        // Without a poster, the same.
        blobs.put(&video, Bytes::from_static(b"mp4")).await.unwrap();
        blobs.delete(&video).await.unwrap();
        assert!(blobs.list_keys().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn removing_a_missing_file_counts_as_done() {
        let blobs = Blobs::in_memory();
        blobs.delete("videos/x/never.mp4").await.unwrap();
    }

    fn entries(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn removing_a_local_file_removes_the_directories_it_leaves_empty() {
        let root = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(root.path()).unwrap();
        let a = Blobs::key_for("aaaaaaaaaaaaaaaaaaaaaaaa", "one");
        let b = Blobs::key_for("bbbbbbbbbbbbbbbbbbbbbbbb", "two");
        let b2 = Blobs::key_for("bbbbbbbbbbbbbbbbbbbbbbbb", "three");
        for key in [&a, &b, &b2] {
            blobs.put(key, Bytes::from_static(b"mp4")).await.unwrap();
        }
        let videos = root.path().join("videos");

        blobs.delete(&a).await.unwrap();
        assert_eq!(entries(&videos), ["bbbbbbbbbbbbbbbbbbbbbbbb"]);
        // A directory that still holds another attempt's file stays.
        blobs.delete(&b).await.unwrap();
        assert_eq!(entries(&videos), ["bbbbbbbbbbbbbbbbbbbbbbbb"]);
        blobs.delete(&b2).await.unwrap();
        // Everything under the root goes once empty, never the root itself.
        assert_eq!(entries(root.path()), Vec::<String>::new());

        // The next upload recreates what it needs.
        blobs.put(&a, Bytes::from_static(b"again")).await.unwrap();
        assert_eq!(blobs.get(&a).await.unwrap().as_deref(), Some(&b"again"[..]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn uploads_racing_removals_in_the_same_directory_all_land() {
        let root = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(root.path()).unwrap();
        let id = "cccccccccccccccccccccccc";
        for round in 0..200 {
            let old = Blobs::key_for(id, &format!("old{round}"));
            let new = Blobs::key_for(id, &format!("new{round}"));
            blobs.put(&old, Bytes::from_static(b"old")).await.unwrap();
            let (deleted, uploaded) = tokio::join!(
                tokio::spawn({
                    let blobs = blobs.clone();
                    async move { blobs.delete(&old).await }
                }),
                tokio::spawn({
                    let (blobs, new) = (blobs.clone(), new.clone());
                    async move { blobs.put(&new, Bytes::from_static(b"new")).await }
                }),
            );
            deleted.unwrap().unwrap();
            uploaded.unwrap().unwrap();
            assert_eq!(
                blobs.get(&new).await.unwrap().as_deref(),
                Some(&b"new"[..]),
                "round {round}"
            );
            blobs.delete(&new).await.unwrap();
        }
        assert_eq!(entries(root.path()), Vec::<String>::new());
    }
}
