/// `WebhookOutbox` for `$store`. `begin` names the store's method that opens a writing
/// transaction; `claim_lock` ends the claim's row selection (a locking clause, or nothing where
/// the transaction already holds the engine's only write lock).
macro_rules! webhook_outbox {
    ($store:ty, begin = $begin:ident, claim_lock = $claim_lock:literal) => {
        #[::async_trait::async_trait]
        impl $crate::store::WebhookOutbox for $store {
            async fn claim_webhooks(
                &self,
                now: i64,
                lease_until: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::WebhookDelivery>> {
                let mut tx = self.$begin().await?;
                let claimed = ::sqlx::query(concat!(
                    "UPDATE webhook_deliveries SET lease_until = $2 WHERE id IN ( \
                       SELECT d.id FROM webhook_deliveries d \
                       WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
                         AND (d.lease_until IS NULL OR d.lease_until < $1) \
                         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                                         WHERE e.video_id = d.video_id AND e.id < d.id AND e.state = 'pending') \
                       ORDER BY d.id LIMIT $3",
                    $claim_lock,
                    ") RETURNING *, EXISTS (SELECT 1 FROM accounts a \
                       WHERE a.uid = webhook_deliveries.uid AND a.webhook_faults IS NOT NULL) \
                       AS account_faults"
                ))
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut found = claimed
                    .iter()
                    .map(|row| {
                        use ::sqlx::Row as _;
                        let mut delivery = $crate::store::rows::delivery(row)?;
                        delivery.account_faults = row.try_get("account_faults")?;
                        Ok(delivery)
                    })
                    .collect::<$crate::store::StoreResult<Vec<_>>>()?;
                found.sort_by_key(|d| d.id);
                Ok(found)
            }

            async fn webhook_credentials(
                &self,
                uid: i64,
            ) -> $crate::store::StoreResult<Option<(String, String)>> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query($crate::store::sql::WEBHOOK_CREDENTIALS)
                    .bind(uid)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
            }

            async fn finish_webhook_attempt(
                &self,
                id: i64,
                attempt: $crate::store::WebhookAttempt,
                outcome: $crate::store::WebhookOutcome,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.$begin().await?;
                ::sqlx::query($crate::store::sql::RECORD_ATTEMPT)
                    .bind(id)
                    .bind(attempt.attempt)
                    .bind(attempt.at)
                    .bind(attempt.http_status)
                    .bind(&attempt.error)
                    .execute(&mut *tx)
                    .await?;
                let next = $crate::store::policy::after_attempt(outcome, attempt.at, attempt.error);
                ::sqlx::query($crate::store::sql::UPDATE_DELIVERY)
                    .bind(id)
                    .bind(next.state)
                    .bind(attempt.attempt)
                    .bind(next.next_attempt_at)
                    .bind(next.last_error)
                    .bind(next.finished_at)
                    .execute(&mut *tx)
                    .await?;
                if next.state != "pending" {
                    ::sqlx::query($crate::store::sql::RELEASE_HELD)
                        .bind(id)
                        .bind(attempt.at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn log_webhook_attempt(
                &self,
                id: i64,
                attempt: $crate::store::WebhookAttempt,
            ) -> $crate::store::StoreResult<()> {
                ::sqlx::query($crate::store::sql::RECORD_ATTEMPT)
                    .bind(id)
                    .bind(attempt.attempt)
                    .bind(attempt.at)
                    .bind(attempt.http_status)
                    .bind(&attempt.error)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn fault_webhook(
                &self,
                id: i64,
                fault: &str,
                step: $crate::store::FaultStep,
                now: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.$begin().await?;
                let next = $crate::store::policy::after_fault(step, now);
                ::sqlx::query($crate::store::sql::FAULT_DELIVERY)
                    .bind(id)
                    .bind(fault)
                    .bind(next.state)
                    .bind(next.next_attempt_at)
                    .bind(next.finished_at)
                    .bind(next.release_lease)
                    .execute(&mut *tx)
                    .await?;
                if next.finished_at.is_some() {
                    ::sqlx::query($crate::store::sql::RELEASE_HELD)
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn webhook_deliveries(
                &self,
                video_id: Option<&str>,
                limit: i64,
            ) -> $crate::store::StoreResult<
                Vec<($crate::store::WebhookDelivery, Vec<$crate::store::WebhookAttempt>)>,
            > {
                let found = ::sqlx::query($crate::store::sql::DELIVERIES)
                    .bind(video_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = Vec::with_capacity(found.len());
                for row in &found {
                    let delivery = $crate::store::rows::delivery(row)?;
                    let attempts = ::sqlx::query($crate::store::sql::ATTEMPTS_OF)
                        .bind(delivery.id)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map($crate::store::rows::attempt)
                        .collect::<$crate::store::StoreResult<Vec<_>>>()?;
                    out.push((delivery, attempts));
                }
                Ok(out)
            }

            async fn redeliver_webhook(
                &self,
                id: i64,
                now: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = ::sqlx::query($crate::store::sql::REDELIVER)
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(in crate::store) use webhook_outbox;
