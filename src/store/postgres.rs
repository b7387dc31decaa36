//! The scale-out store: PostgreSQL (or a compatible engine with `FOR UPDATE SKIP LOCKED`), shared
//! by any number of `serve` and `worker` processes.
//!
//! Transactions run at PostgreSQL's default READ COMMITTED. That is enough because every
//! decision is taken on rows this transaction has locked, never on a snapshot alone:
//!
//! * delete (DESIGN §4 step 2) first locks the caller's rows among the ids with `FOR UPDATE`
//!   (in `_id` order, so two overlapping deletes cannot deadlock). A row lock returns the newest
//!   committed version of the row, so the status it reads is the status at the moment the
//!   delete wins the row; until commit nobody else can change it. Rows it reads as 2 are left
//!   alone and reported processing; the others are deleted in the same transaction.
//! * a claim picks its row with `FOR UPDATE SKIP LOCKED`: a row that a delete has locked is
//!   skipped (so it never starts rendering; once the delete commits it is gone), and a row
//!   deleted before the claim locks it is not returned at all. When the claim wins the row
//!   first, the delete's `FOR UPDATE` waits for the claim to commit and then reads status 2.
//! * completion, failure, retry and release update `WHERE status = 2 AND lease_owner = $me`;
//!   the update takes the row lock and re-checks that condition on the newest version, so a
//!   worker whose lease was reaped (or whose video was re-queued by an operator) writes nothing.
//! * money: every balance change locks the account row (`FOR UPDATE`) before checking it, and
//!   `credits >= 0` is a table constraint besides.
//!
//! `tests/api/store_suite.rs` holds the conformance checks both backends pass, including
//! concurrent delete-versus-claim rounds that hold this argument to account.

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Row, Transaction};

use super::rows;
use super::*;
use crate::domain::{ObjectId, VideoStatus};

pub struct PgStore {
    pool: PgPool,
}

type Tx = Transaction<'static, Postgres>;

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date. Migrations take a
    /// database-wide advisory lock, so processes starting together do not race.
    pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        let options = options
            .application_name("i2v")
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .min_connections(pool.min_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn tx(&self) -> StoreResult<Tx> {
        Ok(self.pool.begin().await?)
    }
}

/// DESIGN §4 step 2 for one request inside `tx` (which the caller commits).
async fn delete_in(
    tx: &mut Tx,
    uid: i64,
    ids: &[ObjectId],
    now: i64,
) -> StoreResult<DeleteOutcome> {
    if ids.is_empty() {
        return Ok(DeleteOutcome::default());
    }
    // The decision is taken on locked rows: see the module comment.
    let locked = sqlx::query(
        "SELECT _id, status, blob_key FROM videos WHERE uid = $1 AND _id = ANY($2) \
         ORDER BY _id FOR UPDATE",
    )
    .bind(uid)
    .bind(hexes(ids))
    .fetch_all(&mut **tx)
    .await?;
    let mut doomed = Vec::new();
    let mut doomed_files = Vec::new();
    let mut processing = Vec::new();
    for row in &locked {
        let id: String = row.try_get(0)?;
        let status: i64 = row.try_get(1)?;
        if status == VideoStatus::Processing.code() {
            processing.push(rows::object_id(&id)?);
        } else {
            if let Some(key) = row.try_get::<Option<String>, _>(2)? {
                doomed_files.push(key);
            }
            doomed.push(id);
        }
    }
    let mut files = Vec::new();
    if !doomed.is_empty() {
        sqlx::query("DELETE FROM videos WHERE _id = ANY($1)")
            .bind(&doomed)
            .execute(&mut **tx)
            .await?;
        if !doomed_files.is_empty() {
            let staged = sqlx::query(
                "INSERT INTO blob_deletions (blob_key, not_before) \
                 SELECT key, $2 FROM UNNEST($1::TEXT[]) AS key RETURNING id, blob_key",
            )
            .bind(&doomed_files)
            .bind(now)
            .fetch_all(&mut **tx)
            .await?;
            for row in &staged {
                files.push(BlobDeletion {
                    id: row.try_get(0)?,
                    blob_key: row.try_get(1)?,
                });
            }
        }
        // Deletion removes every trace: pending and past callbacks go with the video.
        sqlx::query("DELETE FROM webhook_deliveries WHERE uid = $1 AND video_id = ANY($2)")
            .bind(uid)
            .bind(&doomed)
            .execute(&mut **tx)
            .await?;
        // The ledger keeps the amounts (balances must stay auditable) but not which video.
        sqlx::query(
            "UPDATE credit_ledger SET video_id = NULL WHERE uid = $1 AND video_id = ANY($2)",
        )
        .bind(uid)
        .bind(&doomed)
        .execute(&mut **tx)
        .await?;
    }
    let deleted = doomed
        .iter()
        .map(|id| rows::object_id(id))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(DeleteOutcome {
        deleted: rows::in_request_order(ids, deleted, |id| *id),
        processing: rows::in_request_order(ids, processing, |id| *id),
        files,
    })
}

fn hexes(ids: &[ObjectId]) -> Vec<String> {
    ids.iter().map(ObjectId::to_hex).collect()
}

/// Advisory lock key that serializes render claims across processes ("i2vclaim" in ASCII).
const CLAIM_LOCK: i64 = 0x6932_7663_6c61_696d;

const AUTH_SELECT: &str = "SELECT a.uid, a.team_id, a.banned, c.client_id, c.secret_hash \
     FROM accounts a JOIN credentials c ON c.uid = a.uid";

/// The account's balance, locked until the transaction ends; `NoSuchAccount` when there is none.
async fn lock_balance(tx: &mut Tx, uid: i64) -> StoreResult<i64> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT credits FROM accounts WHERE uid = $1 FOR UPDATE")
            .bind(uid)
            .fetch_optional(&mut **tx)
            .await?;
    balance.ok_or(StoreError::NoSuchAccount(uid))
}

async fn refund(tx: &mut Tx, uid: i64, amount: i64, video: &str, now: i64) -> StoreResult<()> {
    if amount <= 0 {
        return Ok(());
    }
    sqlx::query("UPDATE accounts SET credits = credits + $2 WHERE uid = $1")
        .bind(uid)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO credit_ledger (uid, amount, reason, video_id, created_at) \
         VALUES ($1, $2, 'refund', $3, $4)",
    )
    .bind(uid)
    .bind(amount)
    .bind(video)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records the callback for the video's current status, if it has a webhook URL. Called inside
/// every transaction that moves a video to 2, 3 or 4.
async fn enqueue_webhook(tx: &mut Tx, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (video_id, uid, url, video_status, blob_key, state, attempts, \
         next_attempt_at, created_at) \
         SELECT _id, uid, webhook_url, status, blob_key, 'pending', 0, $2, $2 FROM videos \
         WHERE _id = $1 AND webhook_url <> '' AND status IN (2, 3, 4)",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a video to failed and refunds what it was charged; the caller holds the row lock and
/// has checked the lease.
async fn fail_and_refund(tx: &mut Tx, id: &str, reason: &str, now: i64) -> StoreResult<()> {
    let row = sqlx::query(
        "UPDATE videos v SET status = 4, error_reason = $2, deduction_credit = 0, lease_owner = NULL, \
         lease_until = NULL, update_time = $3 \
         FROM (SELECT _id, deduction_credit FROM videos WHERE _id = $1) old \
         WHERE v._id = old._id RETURNING v.uid, old.deduction_credit",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let (uid, charged): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    enqueue_webhook(tx, id, now).await?;
    refund(tx, uid, charged, id, now).await
}

/// Schedules a finished video's output for removal and forgets it on the row.
async fn drop_output(tx: &mut Tx, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "WITH old AS (SELECT _id, blob_key FROM videos WHERE _id = $1 AND blob_key IS NOT NULL), \
         staged AS (INSERT INTO blob_deletions (blob_key, not_before) SELECT blob_key, $2 FROM old) \
         UPDATE videos SET blob_key = NULL, video_duration = NULL WHERE _id IN (SELECT _id FROM old)",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, new: NewAccount) -> StoreResult<Account> {
        let mut tx = self.tx().await?;
        let uid: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (team_id, name, credits, banned, created_at) \
             VALUES ($1, $2, $3, FALSE, $4) RETURNING uid",
        )
        .bind(&new.team_id)
        .bind(&new.name)
        .bind(new.credits)
        .bind(new.created_at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO credentials (uid, client_id, secret_hash, sealed_secret) VALUES ($1, $2, $3, $4)",
        )
        .bind(uid)
        .bind(&new.client_id)
        .bind(&new.secret_hash)
        .bind(&new.sealed_secret)
        .execute(&mut *tx)
        .await?;
        if new.credits != 0 {
            sqlx::query(
                "INSERT INTO credit_ledger (uid, amount, reason, created_at) VALUES ($1, $2, 'grant', $3)",
            )
            .bind(uid)
            .bind(new.credits)
            .bind(new.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Account {
            uid,
            team_id: new.team_id,
            name: new.name,
            credits: new.credits,
            banned: false,
            created_at: new.created_at,
        })
    }

    async fn account(&self, uid: i64) -> StoreResult<Option<Account>> {
        let row = sqlx::query(
            "SELECT uid, team_id, name, credits, banned, created_at FROM accounts WHERE uid = $1",
        )
        .bind(uid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn auth_by_key_hash(&self, secret_hash: &str) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUTH_SELECT} WHERE c.secret_hash = $1"
        )))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn auth_by_client_id(&self, client_id: &str) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUTH_SELECT} WHERE c.client_id = $1"
        )))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn auth_by_uid(&self, uid: i64) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUTH_SELECT} WHERE a.uid = $1"
        )))
        .bind(uid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn set_banned(&self, uid: i64, banned: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE accounts SET banned = $2 WHERE uid = $1")
            .bind(uid)
            .bind(banned)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn adjust_credits(
        &self,
        uid: i64,
        amount: i64,
        reason: &str,
        now: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.tx().await?;
        let balance = lock_balance(&mut tx, uid).await?;
        if balance + amount < 0 {
            return Err(StoreError::InsufficientCredits {
                balance,
                needed: -amount,
            });
        }
        sqlx::query("UPDATE accounts SET credits = credits + $2 WHERE uid = $1")
            .bind(uid)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO credit_ledger (uid, amount, reason, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(uid)
        .bind(amount)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(balance + amount)
    }

    async fn rotate_secret(
        &self,
        uid: i64,
        secret_hash: &str,
        sealed_secret: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE credentials SET secret_hash = $2, sealed_secret = $3, \
             rotated_at = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT WHERE uid = $1",
        )
        .bind(uid)
        .bind(secret_hash)
        .bind(sealed_secret)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn ledger_sum(&self, uid: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM credit_ledger WHERE uid = $1",
        )
        .bind(uid)
        .fetch_one(&self.pool)
        .await?)
    }

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
        let outcome = delete_in(&mut tx, uid, ids, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT blob_key FROM videos WHERE _id = $1 AND status = 3")
                .bind(id.to_hex())
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
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
                sqlx::query(
                    "UPDATE videos SET status = 2, lease_owner = $2, lease_until = NULL, update_time = $3 \
                     WHERE _id = $1",
                )
                .bind(&hex)
                .bind(HOLD_OWNER)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                enqueue_webhook(&mut tx, &hex, now).await?;
            }
            ForcedStatus::Requeue => {
                sqlx::query(
                    "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, error_reason = NULL, \
                     attempts = 0, run_after = 0, update_time = $2 WHERE _id = $1",
                )
                .bind(&hex)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            ForcedStatus::Fail(reason) => fail_and_refund(&mut tx, &hex, &reason, now).await?,
        }
        let row = sqlx::query("SELECT * FROM videos WHERE _id = $1")
            .bind(&hex)
            .fetch_one(&mut *tx)
            .await?;
        let video = rows::video(&row)?;
        tx.commit().await?;
        Ok(Some(video))
    }

    async fn queue_depth(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE status = 1), COUNT(*) FILTER (WHERE status = 2) \
             FROM videos WHERE status IN (1, 2)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    async fn claim_next_within(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        max_in_flight_per_account: i64,
    ) -> StoreResult<Option<Video>> {
        let mut tx = self.tx().await?;
        // Claims from every process take turns, so that the per-account count each one reads
        // includes the claims committed before it (READ COMMITTED would let two concurrent
        // claims both see room for one more). A claim is one short statement per render.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CLAIM_LOCK)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "UPDATE videos SET status = 2, lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
             update_time = $3 \
             WHERE _id = (SELECT q._id FROM videos q \
                          LEFT JOIN (SELECT uid, COUNT(*) AS n FROM videos WHERE status = 2 \
                                     GROUP BY uid) f ON f.uid = q.uid \
                          WHERE q.status = 1 AND q.run_after <= $3 AND COALESCE(f.n, 0) < $4 \
                          ORDER BY COALESCE(f.n, 0), q.create_time, q._id LIMIT 1 \
                          FOR UPDATE OF q SKIP LOCKED) \
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
        let done = sqlx::query(
            "UPDATE videos SET lease_until = $3 WHERE _id = $1 AND status = 2 AND lease_owner = $2",
        )
        .bind(id.to_hex())
        .bind(owner)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete(&self, done: Completion, now: i64) -> StoreResult<bool> {
        let mut tx = self.tx().await?;
        let updated = sqlx::query(
            "UPDATE videos SET status = 3, blob_key = $3, video_duration = $4, lease_owner = NULL, \
             lease_until = NULL, error_reason = NULL, update_time = $5 \
             WHERE _id = $1 AND status = 2 AND lease_owner = $2",
        )
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
        sqlx::query("DELETE FROM blob_deletions WHERE blob_key = $1")
            .bind(&done.blob_key)
            .execute(&mut *tx)
            .await?;
        enqueue_webhook(&mut tx, &done.id.to_hex(), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail(&self, id: ObjectId, owner: &str, reason: &str, now: i64) -> StoreResult<bool> {
        let hex = id.to_hex();
        let mut tx = self.tx().await?;
        let ours: Option<String> = sqlx::query_scalar(
            "SELECT _id FROM videos WHERE _id = $1 AND status = 2 AND lease_owner = $2 FOR UPDATE",
        )
        .bind(&hex)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        if ours.is_none() {
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
        let mut tx = self.tx().await?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "SELECT attempts FROM videos WHERE _id = $1 AND status = 2 AND lease_owner = $2 FOR UPDATE",
        )
        .bind(&hex)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attempts) = attempts else {
            return Ok(false);
        };
        if attempts >= max_attempts {
            let reason = format!("gave up after {attempts} attempts: {reason}");
            fail_and_refund(&mut tx, &hex, &reason, now).await?;
        } else {
            sqlx::query(
                "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, run_after = $2, \
                 update_time = $3 WHERE _id = $1",
            )
            .bind(&hex)
            .bind(run_after)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn release(&self, id: ObjectId, owner: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, \
             attempts = GREATEST(attempts - 1, 0), update_time = $3 \
             WHERE _id = $1 AND status = 2 AND lease_owner = $2",
        )
        .bind(id.to_hex())
        .bind(owner)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
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

    async fn reap_expired(&self, now: i64, max_attempts: i64) -> StoreResult<u64> {
        let mut tx = self.tx().await?;
        // SKIP LOCKED: reapers of several processes split the work instead of queueing on it,
        // and a row a worker is finishing right now is left for the next pass.
        let expired = sqlx::query(
            "SELECT _id, attempts FROM videos \
             WHERE status = 2 AND lease_until IS NOT NULL AND lease_until < $1 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for row in &expired {
            let id: String = row.try_get(0)?;
            let attempts: i64 = row.try_get(1)?;
            if attempts >= max_attempts {
                let reason = format!("rendering did not finish after {attempts} attempts");
                fail_and_refund(&mut tx, &id, &reason, now).await?;
            } else {
                sqlx::query(
                    "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, update_time = $2 \
                     WHERE _id = $1",
                )
                .bind(&id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(expired.len() as u64)
    }

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
        let row = sqlx::query("SELECT client_id, sealed_secret FROM credentials WHERE uid = $1")
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
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, http_status, error) \
             SELECT id, $2, $3, $4, $5 FROM webhook_deliveries WHERE id = $1",
        )
        .bind(id)
        .bind(attempt.attempt)
        .bind(attempt.at)
        .bind(attempt.http_status)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?;
        let (state, next, error): (&str, Option<i64>, Option<String>) = match outcome {
            WebhookOutcome::Delivered => ("delivered", None, None),
            WebhookOutcome::Skipped => ("skipped", None, None),
            WebhookOutcome::Retry(at) => ("pending", Some(at), attempt.error.clone()),
            WebhookOutcome::GiveUp(reason) => ("failed", None, Some(reason)),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = $3, \
             next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL, last_error = $5, \
             finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $6 END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(attempt.attempt)
        .bind(next)
        .bind(error)
        .bind(attempt.at)
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
        let found = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE $1::TEXT IS NULL OR video_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(video_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(found.len());
        for row in &found {
            let delivery = rows::delivery(row)?;
            let attempts = sqlx::query(
                "SELECT attempt, at, http_status, error FROM webhook_attempts \
                 WHERE delivery_id = $1 ORDER BY id",
            )
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
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2, \
             lease_until = NULL, finished_at = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn stage_blob(&self, blob_key: &str, not_before: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO blob_deletions (blob_key, not_before) VALUES ($1, $2)")
            .bind(blob_key)
            .bind(not_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn due_blob_deletions(&self, now: i64, limit: i64) -> StoreResult<Vec<BlobDeletion>> {
        let due = sqlx::query(
            "SELECT id, blob_key FROM blob_deletions WHERE not_before <= $1 \
             ORDER BY not_before, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        due.iter().map(rows::blob_deletion).collect()
    }

    async fn finish_blob_deletion(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM blob_deletions WHERE id = $1")
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
        sqlx::query(
            "UPDATE blob_deletions SET attempts = attempts + 1, last_error = $2, not_before = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(next_attempt)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
