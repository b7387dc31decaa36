use async_trait::async_trait;
use sqlx::Row;

use super::tx::{enqueue_webhook, fail_and_refund, leased_attempts};
use super::SqliteStore;
use crate::domain::ObjectId;
use crate::domain::Video;
use crate::store::policy::{self, LeaseEnd};
use crate::store::{rows, sql, Completion, RenderQueue, StoreResult};

#[async_trait]
impl RenderQueue for SqliteStore {
    async fn queue_depth(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(sql::QUEUE_DEPTH).fetch_one(&self.pool).await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    async fn claim_next_within(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        max_in_flight_per_account: i64,
    ) -> StoreResult<Option<Video>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE videos SET status = 2, lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
             update_time = $3 \
             WHERE _id = (SELECT q._id FROM videos q \
                          LEFT JOIN (SELECT uid, COUNT(*) AS n FROM videos WHERE status = 2 \
                                     GROUP BY uid) f ON f.uid = q.uid \
                          WHERE q.status = 1 AND q.run_after <= $3 AND COALESCE(f.n, 0) < $4 \
                          ORDER BY COALESCE(f.n, 0), q.create_time, q._id LIMIT 1) \
             RETURNING *",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(max_in_flight_per_account)
        .fetch_optional(&mut *tx)
        .await?;
        let video = row.as_ref().map(rows::video).transpose()?;
        if let Some(v) = &video {
            enqueue_webhook(&mut tx, &v.id.to_hex(), now).await?;
        }
        tx.commit().await?;
        Ok(video)
    }

    async fn heartbeat(&self, id: ObjectId, owner: &str, lease_until: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::HEARTBEAT)
            .bind(id.to_hex())
            .bind(owner)
            .bind(lease_until)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete(&self, done: Completion, now: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(sql::COMPLETE)
            .bind(done.id.to_hex())
            .bind(&done.owner)
            .bind(&done.blob_key)
            .bind(done.video_duration)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(sql::UNSTAGE_BLOB)
            .bind(&done.blob_key)
            .execute(&mut *tx)
            .await?;
        enqueue_webhook(&mut tx, &done.id.to_hex(), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail(&self, id: ObjectId, owner: &str, reason: &str, now: i64) -> StoreResult<bool> {
        let hex = id.to_hex();
        let mut tx = self.write_tx().await?;
        if leased_attempts(&mut tx, &hex, owner).await?.is_none() {
            return Ok(false);
        }
        fail_and_refund(&mut tx, &hex, reason, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn retry_later(
        &self,
        id: ObjectId,
        owner: &str,
        run_after: i64,
        reason: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let hex = id.to_hex();
        let mut tx = self.write_tx().await?;
        let Some(attempts) = leased_attempts(&mut tx, &hex, owner).await? else {
            return Ok(false);
        };
        match policy::after_passing_fault(attempts, max_attempts, reason) {
            LeaseEnd::Fail(reason) => fail_and_refund(&mut tx, &hex, &reason, now).await?,
            LeaseEnd::Requeue => {
                sqlx::query(sql::REQUEUE_AFTER)
                    .bind(&hex)
                    .bind(run_after)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn release(&self, id: ObjectId, owner: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::RELEASE)
            .bind(id.to_hex())
            .bind(owner)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn reap_expired(&self, now: i64, max_attempts: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let expired = sqlx::query(
            "SELECT _id, attempts FROM videos \
             WHERE status = 2 AND lease_until IS NOT NULL AND lease_until < $1",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for row in &expired {
            let id: String = row.try_get(0)?;
            match policy::after_expired_lease(row.try_get(1)?, max_attempts) {
                LeaseEnd::Fail(reason) => fail_and_refund(&mut tx, &id, &reason, now).await?,
                LeaseEnd::Requeue => {
                    sqlx::query(sql::REQUEUE_EXPIRED)
                        .bind(&id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(expired.len() as u64)
    }
}
