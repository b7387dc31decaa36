use async_trait::async_trait;

use super::PgStore;
use crate::store::{rows, sql, BlobDeletion, FileOutbox, StoreResult};

#[async_trait]
impl FileOutbox for PgStore {
    async fn stage_blob(&self, blob_key: &str, not_before: i64) -> StoreResult<()> {
        sqlx::query(sql::STAGE_BLOB)
            .bind(blob_key)
            .bind(not_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn due_blob_deletions(&self, now: i64, limit: i64) -> StoreResult<Vec<BlobDeletion>> {
        let due = sqlx::query(sql::DUE_BLOB_DELETIONS)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        due.iter().map(rows::blob_deletion).collect()
    }

    async fn finish_blob_deletion(&self, id: i64) -> StoreResult<()> {
        sqlx::query(sql::FINISH_BLOB_DELETION)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retry_blob_deletion(
        &self,
        id: i64,
        error: &str,
        next_attempt: i64,
    ) -> StoreResult<()> {
        sqlx::query(sql::RETRY_BLOB_DELETION)
            .bind(id)
            .bind(error)
            .bind(next_attempt)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
