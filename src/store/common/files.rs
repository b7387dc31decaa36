/// `FileOutbox` for `$store`: plain statements on the pool, the same on every engine.
macro_rules! file_outbox {
    ($store:ty) => {
        #[::async_trait::async_trait]
        impl $crate::store::FileOutbox for $store {
            async fn stage_blob(
                &self,
                blob_key: &str,
                not_before: i64,
            ) -> $crate::store::StoreResult<()> {
                ::sqlx::query($crate::store::sql::STAGE_BLOB)
                    .bind(blob_key)
                    .bind(not_before)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn unstage_blob(&self, blob_key: &str) -> $crate::store::StoreResult<()> {
                ::sqlx::query($crate::store::sql::UNSTAGE_BLOB)
                    .bind(blob_key)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn stage_blobs(
                &self,
                blob_keys: &[String],
                not_before: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                for blob_key in blob_keys {
                    ::sqlx::query($crate::store::sql::STAGE_BLOB)
                        .bind(blob_key)
                        .bind(not_before)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn due_blob_deletions(
                &self,
                now: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::BlobDeletion>> {
                let due = ::sqlx::query($crate::store::sql::DUE_BLOB_DELETIONS)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                due.iter().map($crate::store::rows::blob_deletion).collect()
            }

            async fn finish_blob_deletion(&self, id: i64) -> $crate::store::StoreResult<()> {
                ::sqlx::query($crate::store::sql::FINISH_BLOB_DELETION)
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
            ) -> $crate::store::StoreResult<()> {
                ::sqlx::query($crate::store::sql::RETRY_BLOB_DELETION)
                    .bind(id)
                    .bind(error)
                    .bind(next_attempt)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(in crate::store) use file_outbox;
