/// `RenderQueue` for `$store`. `begin` names the store's method that opens a writing transaction;
/// `serialize_claims`, when given, runs first in every claim's transaction; `claim_lock` and
/// `reap_lock` end the row selections of the claim and of the reaper (locking clauses, or nothing
/// where the transaction already holds the engine's only write lock). The backend's `tx` module
/// supplies the steps taken inside a transaction: `enqueue_webhook`, `leased_attempts` and
/// `fail_and_refund`.
macro_rules! render_queue {
    (
        $store:ty,
        begin = $begin:ident,
        $(serialize_claims = $serialize_claims:path,)?
        claim_lock = $claim_lock:literal,
        reap_lock = $reap_lock:literal $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::store::RenderQueue for $store {
            async fn queue_depth(&self) -> $crate::store::StoreResult<(i64, i64)> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query($crate::store::sql::QUEUE_DEPTH).fetch_one(&self.pool).await?;
                Ok((row.try_get(0)?, row.try_get(1)?))
            }

            async fn claim_next_within(
                &self,
                owner: &str,
                now: i64,
                lease_until: i64,
                max_in_flight_per_account: i64,
            ) -> $crate::store::StoreResult<Option<$crate::domain::Video>> {
                let mut tx = self.$begin().await?;
                $($serialize_claims(&mut tx).await?;)?
                let row = ::sqlx::query(concat!(
                    "UPDATE videos SET status = 2, lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
                     update_time = $3 \
                     WHERE _id = (SELECT q._id FROM videos q \
                                  LEFT JOIN (SELECT uid, COUNT(*) AS n FROM videos WHERE status = 2 \
                                             GROUP BY uid) f ON f.uid = q.uid \
                                  WHERE q.status = 1 AND q.run_after <= $3 AND COALESCE(f.n, 0) < $4 \
                                  ORDER BY COALESCE(f.n, 0), q.create_time, q._id LIMIT 1",
                    $claim_lock,
                    ") RETURNING *"
                ),
                )
                .bind(owner)
                .bind(lease_until)
                .bind(now)
                .bind(max_in_flight_per_account)
                .fetch_optional(&mut *tx)
                .await?;
                let video = row.as_ref().map($crate::store::rows::video).transpose()?;
                if let Some(v) = &video {
                    tx::enqueue_webhook(&mut tx, &v.id.to_hex(), now).await?;
                }
                tx.commit().await?;
                Ok(video)
            }

            async fn heartbeat(&self, id: $crate::domain::ObjectId, owner: &str, lease_until: i64) -> $crate::store::StoreResult<bool> {
                let done = ::sqlx::query($crate::store::sql::HEARTBEAT)
                    .bind(id.to_hex())
                    .bind(owner)
                    .bind(lease_until)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn complete(&self, done: $crate::store::Completion, now: i64) -> $crate::store::StoreResult<bool> {
                let mut tx = self.$begin().await?;
                let updated = ::sqlx::query($crate::store::sql::COMPLETE)
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
                ::sqlx::query($crate::store::sql::UNSTAGE_BLOB)
                    .bind(&done.blob_key)
                    .execute(&mut *tx)
                    .await?;
                tx::enqueue_webhook(&mut tx, &done.id.to_hex(), now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn fail(&self, id: $crate::domain::ObjectId, owner: &str, reason: &str, now: i64) -> $crate::store::StoreResult<bool> {
                let hex = id.to_hex();
                let mut tx = self.$begin().await?;
                if tx::leased_attempts(&mut tx, &hex, owner).await?.is_none() {
                    return Ok(false);
                }
                tx::fail_and_refund(&mut tx, &hex, reason, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn retry_later(
                &self,
                id: $crate::domain::ObjectId,
                owner: &str,
                run_after: i64,
                reason: &str,
                max_attempts: i64,
                now: i64,
            ) -> $crate::store::StoreResult<bool> {
                let hex = id.to_hex();
                let mut tx = self.$begin().await?;
                let Some(attempts) = tx::leased_attempts(&mut tx, &hex, owner).await? else {
                    return Ok(false);
                };
                match $crate::store::policy::after_passing_fault(attempts, max_attempts, reason) {
                    $crate::store::policy::LeaseEnd::Fail(reason) => tx::fail_and_refund(&mut tx, &hex, &reason, now).await?,
                    $crate::store::policy::LeaseEnd::Requeue => {
                        ::sqlx::query($crate::store::sql::REQUEUE_AFTER)
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

            async fn release(&self, id: $crate::domain::ObjectId, owner: &str, now: i64) -> $crate::store::StoreResult<bool> {
                let done = ::sqlx::query($crate::store::sql::RELEASE)
                    .bind(id.to_hex())
                    .bind(owner)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn reap_expired(&self, now: i64, max_attempts: i64) -> $crate::store::StoreResult<u64> {
                use ::sqlx::Row as _;
                let mut tx = self.$begin().await?;
                let expired = ::sqlx::query(concat!(
                    "SELECT _id, attempts FROM videos \
                     WHERE status = 2 AND lease_until IS NOT NULL AND lease_until < $1",
                    $reap_lock,
                ))
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                for row in &expired {
                    let id: String = row.try_get(0)?;
                    match $crate::store::policy::after_expired_lease(row.try_get(1)?, max_attempts) {
                        $crate::store::policy::LeaseEnd::Fail(reason) => tx::fail_and_refund(&mut tx, &id, &reason, now).await?,
                        $crate::store::policy::LeaseEnd::Requeue => {
                            ::sqlx::query($crate::store::sql::REQUEUE_EXPIRED)
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
    };
}

pub(in crate::store) use render_queue;
