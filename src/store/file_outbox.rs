//! The file-deletion outbox (`blob_deletions`): keys of output files to remove, each due at a
//! time. Deletes and retention write it in their transaction; `crate::outbox` works it off.

use async_trait::async_trait;

use super::{BlobDeletion, StoreResult};

#[async_trait]
pub trait FileOutbox: Send + Sync + 'static {
    /// Records that `blob_key` must be removed at or after `not_before` unless a completion takes
    /// it back. Workers call this before uploading, so a crash never leaves an unowned file.
    async fn stage_blob(&self, blob_key: &str, not_before: i64) -> StoreResult<()>;
    /// Forgets a staged key whose file its stager removed itself (a completion that lost).
    async fn unstage_blob(&self, blob_key: &str) -> StoreResult<()>;
    /// `stage_blob` for many keys in one transaction.
    async fn stage_blobs(&self, blob_keys: &[String], not_before: i64) -> StoreResult<()>;
    async fn due_blob_deletions(&self, now: i64, limit: i64) -> StoreResult<Vec<BlobDeletion>>;
    async fn finish_blob_deletion(&self, id: i64) -> StoreResult<()>;
    async fn retry_blob_deletion(&self, id: i64, error: &str, next_attempt: i64)
        -> StoreResult<()>;
}
