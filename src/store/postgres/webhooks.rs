use async_trait::async_trait;
use sqlx::Row;

use super::PgStore;
use crate::store::{
    policy, rows, sql, StoreResult, WebhookAttempt, WebhookDelivery, WebhookOutbox, WebhookOutcome,
};

#[async_trait]
impl WebhookOutbox for PgStore {
    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let mut tx = self.tx().await?;
        let claimed = sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = $2 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d \
               WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
                 AND (d.lease_until IS NULL OR d.lease_until < $1) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                                 WHERE e.video_id = d.video_id AND e.id < d.id AND e.state = 'pending') \
               ORDER BY d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
             RETURNING *",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut found = claimed
            .iter()
            .map(rows::delivery)
            .collect::<StoreResult<Vec<_>>>()?;
        found.sort_by_key(|d| d.id);
        Ok(found)
    }

    async fn webhook_credentials(&self, uid: i64) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(sql::WEBHOOK_CREDENTIALS)
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    async fn finish_webhook_attempt(
        &self,
        id: i64,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> StoreResult<()> {
        let mut tx = self.tx().await?;
        sqlx::query(sql::RECORD_ATTEMPT)
            .bind(id)
            .bind(attempt.attempt)
            .bind(attempt.at)
            .bind(attempt.http_status)
            .bind(&attempt.error)
            .execute(&mut *tx)
            .await?;
        let next = policy::after_attempt(outcome, attempt.at, attempt.error);
        sqlx::query(sql::UPDATE_DELIVERY)
            .bind(id)
            .bind(next.state)
            .bind(attempt.attempt)
            .bind(next.next_attempt_at)
            .bind(next.last_error)
            .bind(next.finished_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_deliveries(
        &self,
        video_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(WebhookDelivery, Vec<WebhookAttempt>)>> {
        let found = sqlx::query(sql::DELIVERIES)
            .bind(video_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(found.len());
        for row in &found {
            let delivery = rows::delivery(row)?;
            let attempts = sqlx::query(sql::ATTEMPTS_OF)
                .bind(delivery.id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(rows::attempt)
                .collect::<StoreResult<Vec<_>>>()?;
            out.push((delivery, attempts));
        }
        Ok(out)
    }

    async fn redeliver_webhook(&self, id: i64, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::REDELIVER)
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
