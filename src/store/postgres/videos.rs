//! Videos on PostgreSQL. `create_videos` is the one statement that names every column
//! of a video (reading them is `rows::video`); deletes are in `delete`.

use async_trait::async_trait;

use super::tx::{drop_output, enqueue_webhook, fail_and_refund, lock_balance};
use super::{delete, hexes, PgStore};
use crate::domain::ObjectId;
use crate::domain::Video;
use crate::store::{
    rows, sql, DeleteOutcome, ForcedStatus, StoreError, StoreResult, Videos, HOLD_OWNER,
};

#[async_trait]
impl Videos for PgStore {
    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()> {
        let needed: i64 = videos.iter().map(|v| v.deduction_credit).sum();
        let mut tx = self.tx().await?;
        let balance = lock_balance(&mut tx, uid).await?;
        if balance < needed {
            return Err(StoreError::InsufficientCredits { balance, needed });
        }
        sqlx::query("UPDATE accounts SET credits = credits - $2 WHERE uid = $1")
            .bind(uid)
            .bind(needed)
            .execute(&mut *tx)
            .await?;
        for v in &videos {
            rows::insert_video(uid, v).execute(&mut *tx).await?;
            if v.deduction_credit != 0 {
                sqlx::query(
                    "INSERT INTO credit_ledger (uid, amount, reason, video_id, created_at) \
                     VALUES ($1, $2, 'charge', $3, $4)",
                )
                .bind(uid)
                .bind(-v.deduction_credit)
                .bind(v.id.to_hex())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = sqlx::query("SELECT * FROM videos WHERE uid = $1 AND _id = ANY($2)")
            .bind(uid)
            .bind(hexes(ids))
            .fetch_all(&self.pool)
            .await?;
        let videos = found
            .iter()
            .map(rows::video)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(rows::in_request_order(ids, videos, |v| v.id))
    }
    async fn delete_videos(
        &self,
        uid: i64,
        ids: &[ObjectId],
        now: i64,
    ) -> StoreResult<DeleteOutcome> {
        if ids.is_empty() {
            return Ok(DeleteOutcome::default());
        }
        let mut tx = self.tx().await?;
        let outcome = delete::delete_in(&mut tx, uid, ids, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(sql::BLOB_KEY_OF_COMPLETED)
            .bind(id.to_hex())
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    async fn force_status(
        &self,
        id: ObjectId,
        to: ForcedStatus,
        now: i64,
    ) -> StoreResult<Option<Video>> {
        let hex = id.to_hex();
        let mut tx = self.tx().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT status FROM videos WHERE _id = $1 FOR UPDATE")
                .bind(&hex)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        drop_output(&mut tx, &hex, now).await?;
        match to {
            ForcedStatus::Hold => {
                sqlx::query(sql::HOLD)
                    .bind(&hex)
                    .bind(HOLD_OWNER)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                enqueue_webhook(&mut tx, &hex, now).await?;
            }
            ForcedStatus::Requeue => {
                sqlx::query(sql::REQUEUE_AFRESH)
                    .bind(&hex)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            ForcedStatus::Fail(reason) => fail_and_refund(&mut tx, &hex, &reason, now).await?,
        }
        let row = sqlx::query(sql::VIDEO)
            .bind(&hex)
            .fetch_one(&mut *tx)
            .await?;
        let video = rows::video(&row)?;
        tx.commit().await?;
        Ok(Some(video))
    }

    async fn expire_outputs(
        &self,
        completed_before: i64,
        now: i64,
        limit: i64,
    ) -> StoreResult<u64> {
        let mut tx = self.tx().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT _id FROM videos WHERE status = 3 AND blob_key IS NOT NULL AND update_time < $1 \
             ORDER BY update_time LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(completed_before)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            drop_output(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }
}
