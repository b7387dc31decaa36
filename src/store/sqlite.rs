//! The embedded default store: one SQLite file in WAL mode.
//!
//! Every write use-case runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's single
//! write lock up front; so check-and-delete, claim and completion are serialized and cannot
//! interleave. Lists of ids travel as one JSON array parameter (`json_each`) so that every
//! statement is static SQL. `synchronous = FULL`: an answered delete survives power loss too.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::rows;
use super::*;
use crate::domain::ObjectId;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Writers queue on SQLite's one write lock; more connections let readers and the
        // next writer's statement preparation proceed meanwhile.
        let pool = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .min_connections(pool.min_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn id_array(ids: &[ObjectId]) -> String {
    serde_json::to_string(&ids.iter().map(ObjectId::to_hex).collect::<Vec<_>>())
        .expect("strings always serialize")
}

const AUTH_SELECT: &str = "SELECT a.uid, a.team_id, a.banned, c.client_id, c.secret_hash \
     FROM accounts a JOIN credentials c ON c.uid = a.uid";

async fn refund(
    tx: &mut Transaction<'static, Sqlite>,
    uid: i64,
    amount: i64,
    video: &str,
    now: i64,
) -> StoreResult<()> {
    if amount <= 0 {
        return Ok(());
    }
    sqlx::query("UPDATE accounts SET credits = credits + ?2 WHERE uid = ?1")
        .bind(uid)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO credit_ledger (uid, amount, reason, video_id, created_at) VALUES (?1, ?2, 'refund', ?3, ?4)")
        .bind(uid)
        .bind(amount)
        .bind(video)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account's balance inside a write transaction; `NoSuchAccount` when there is none.
async fn balance_of(tx: &mut Transaction<'static, Sqlite>, uid: i64) -> StoreResult<i64> {
    let balance: Option<i64> = sqlx::query_scalar("SELECT credits FROM accounts WHERE uid = ?1")
        .bind(uid)
        .fetch_optional(&mut **tx)
        .await?;
    balance.ok_or(StoreError::NoSuchAccount(uid))
}

/// Records the callback for the video's current status, if it has a webhook URL. Called inside
/// every transaction that moves a video to 2, 3 or 4.
async fn enqueue_webhook(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (video_id, uid, url, video_status, blob_key, state, attempts, \
         next_attempt_at, created_at) \
         SELECT _id, uid, webhook_url, status, blob_key, 'pending', 0, ?2, ?2 FROM videos \
         WHERE _id = ?1 AND webhook_url <> '' AND status IN (2, 3, 4)",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a video to failed and refunds what it was charged; the caller has checked the lease.
async fn fail_and_refund(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT uid, deduction_credit FROM videos WHERE _id = ?1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let (uid, charged): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    sqlx::query(
        "UPDATE videos SET status = 4, error_reason = ?2, deduction_credit = 0, lease_owner = NULL, \
         lease_until = NULL, update_time = ?3 WHERE _id = ?1",
    )
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    enqueue_webhook(tx, id, now).await?;
    refund(tx, uid, charged, id, now).await
}

/// Schedules a finished video's output for removal and forgets it on the row.
async fn drop_output(tx: &mut Transaction<'static, Sqlite>, id: &str, now: i64) -> StoreResult<()> {
    let key: Option<String> = sqlx::query_scalar("SELECT blob_key FROM videos WHERE _id = ?1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    if let Some(key) = key {
        sqlx::query("INSERT INTO blob_deletions (blob_key, not_before) VALUES (?1, ?2)")
            .bind(key)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE videos SET blob_key = NULL, video_duration = NULL WHERE _id = ?1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// DESIGN §4 step 2 inside the caller's write transaction: delete the caller's videos among
/// `ids` that are not processing, stage their files in the outbox, forget them in the webhook
/// outbox and the ledger, and report the caller's processing videos among the rest.
async fn delete_in(
    tx: &mut Transaction<'static, Sqlite>,
    uid: i64,
    ids: &[ObjectId],
    now: i64,
) -> StoreResult<DeleteOutcome> {
    if ids.is_empty() {
        return Ok(DeleteOutcome::default());
    }
    let list = id_array(ids);
    let rows = sqlx::query(
        "DELETE FROM videos WHERE uid = ?1 AND status <> 2 AND _id IN (SELECT value FROM json_each(?2)) \
         RETURNING _id, blob_key",
    )
    .bind(uid)
    .bind(&list)
    .fetch_all(&mut **tx)
    .await?;
    let mut deleted = Vec::with_capacity(rows.len());
    let mut files = Vec::new();
    for row in &rows {
        let id: String = row.try_get(0)?;
        deleted.push(rows::object_id(&id)?);
        if let Some(blob_key) = row.try_get::<Option<String>, _>(1)? {
            let outbox_id: i64 = sqlx::query_scalar(
                "INSERT INTO blob_deletions (blob_key, not_before) VALUES (?1, ?2) RETURNING id",
            )
            .bind(&blob_key)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
            files.push(BlobDeletion {
                id: outbox_id,
                blob_key,
            });
        }
    }
    if !deleted.is_empty() {
        // Deletion removes every trace: pending and past callbacks go with the video.
        sqlx::query("DELETE FROM webhook_deliveries WHERE uid = ?1 AND video_id IN (SELECT value FROM json_each(?2))")
            .bind(uid)
            .bind(id_array(&deleted))
            .execute(&mut **tx)
            .await?;
        // The ledger keeps the amounts (balances must stay auditable) but not which video.
        sqlx::query("UPDATE credit_ledger SET video_id = NULL WHERE uid = ?1 AND video_id IN (SELECT value FROM json_each(?2))")
            .bind(uid)
            .bind(id_array(&deleted))
            .execute(&mut **tx)
            .await?;
    }
    let processing: Vec<String> = sqlx::query_scalar(
        "SELECT _id FROM videos WHERE uid = ?1 AND status = 2 AND _id IN (SELECT value FROM json_each(?2))",
    )
    .bind(uid)
    .bind(&list)
    .fetch_all(&mut **tx)
    .await?;
    let processing = processing
        .iter()
        .filter_map(|s| ObjectId::parse(s))
        .collect();
    Ok(DeleteOutcome {
        deleted: rows::in_request_order(ids, deleted, |id| *id),
        processing: rows::in_request_order(ids, processing, |id| *id),
        files,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, new: NewAccount) -> StoreResult<Account> {
        let mut tx = self.write_tx().await?;
        let uid: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (uid, team_id, name, credits, banned, created_at) \
             VALUES ((SELECT COALESCE(MAX(uid), 100000) + 1 FROM accounts), ?1, ?2, ?3, 0, ?4) \
             RETURNING uid",
        )
        .bind(&new.team_id)
        .bind(&new.name)
        .bind(new.credits)
        .bind(new.created_at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO credentials (uid, client_id, secret_hash, sealed_secret) VALUES (?1, ?2, ?3, ?4)")
            .bind(uid)
            .bind(&new.client_id)
            .bind(&new.secret_hash)
            .bind(&new.sealed_secret)
            .execute(&mut *tx)
            .await?;
        if new.credits != 0 {
            sqlx::query("INSERT INTO credit_ledger (uid, amount, reason, created_at) VALUES (?1, ?2, 'grant', ?3)")
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
            "SELECT uid, team_id, name, credits, banned, created_at FROM accounts WHERE uid = ?1",
        )
        .bind(uid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn auth_by_key_hash(&self, secret_hash: &str) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUTH_SELECT} WHERE c.secret_hash = ?1"
        )))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn auth_by_client_id(&self, client_id: &str) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUTH_SELECT} WHERE c.client_id = ?1"
        )))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn auth_by_uid(&self, uid: i64) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUTH_SELECT} WHERE a.uid = ?1"
        )))
        .bind(uid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn set_banned(&self, uid: i64, banned: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE accounts SET banned = ?2 WHERE uid = ?1")
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
        let mut tx = self.write_tx().await?;
        let balance = balance_of(&mut tx, uid).await?;
        if balance + amount < 0 {
            return Err(StoreError::InsufficientCredits {
                balance,
                needed: -amount,
            });
        }
        sqlx::query("UPDATE accounts SET credits = credits + ?2 WHERE uid = ?1")
            .bind(uid)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO credit_ledger (uid, amount, reason, created_at) VALUES (?1, ?2, ?3, ?4)",
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
        let done = sqlx::query("UPDATE credentials SET secret_hash = ?2, sealed_secret = ?3, rotated_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE uid = ?1")
            .bind(uid)
            .bind(secret_hash)
            .bind(sealed_secret)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn ledger_sum(&self, uid: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(SUM(amount), 0) FROM credit_ledger WHERE uid = ?1")
                .bind(uid)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()> {
        let needed: i64 = videos.iter().map(|v| v.deduction_credit).sum();
        let mut tx = self.write_tx().await?;
        let balance = balance_of(&mut tx, uid).await?;
        if balance < needed {
            return Err(StoreError::InsufficientCredits { balance, needed });
        }
        sqlx::query("UPDATE accounts SET credits = credits - ?2 WHERE uid = ?1")
            .bind(uid)
            .bind(needed)
            .execute(&mut *tx)
            .await?;
        for v in &videos {
            rows::insert_video(uid, v).execute(&mut *tx).await?;
            if v.deduction_credit != 0 {
                sqlx::query("INSERT INTO credit_ledger (uid, amount, reason, video_id, created_at) VALUES (?1, ?2, 'charge', ?3, ?4)")
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
        let rows = sqlx::query(
            "SELECT * FROM videos WHERE uid = ?1 AND _id IN (SELECT value FROM json_each(?2))",
        )
        .bind(uid)
        .bind(id_array(ids))
        .fetch_all(&self.pool)
        .await?;
        let videos = rows
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
        let mut tx = self.write_tx().await?;
        let outcome = delete_in(&mut tx, uid, ids, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    fn groups_deletes(&self) -> bool {
        true
    }

    /// Every request in one transaction, in order: each sees the ones before it, as if they had
    /// run one after another, and one commit (one fsync) makes them all durable.
    async fn delete_group(
        &self,
        requests: &[DeleteRequest],
        now: i64,
    ) -> StoreResult<Vec<DeleteOutcome>> {
        let mut tx = self.write_tx().await?;
        let mut outcomes = Vec::with_capacity(requests.len());
        for r in requests {
            outcomes.push(delete_in(&mut tx, r.uid, &r.ids, now).await?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT blob_key FROM videos WHERE _id = ?1 AND status = 3")
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
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT status FROM videos WHERE _id = ?1")
            .bind(&hex)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        drop_output(&mut tx, &hex, now).await?;
        match to {
            ForcedStatus::Hold => {
                sqlx::query("UPDATE videos SET status = 2, lease_owner = ?2, lease_until = NULL, update_time = ?3 WHERE _id = ?1")
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
                     attempts = 0, run_after = 0, update_time = ?2 WHERE _id = ?1",
                )
                .bind(&hex)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            ForcedStatus::Fail(reason) => fail_and_refund(&mut tx, &hex, &reason, now).await?,
        }
        let row = sqlx::query("SELECT * FROM videos WHERE _id = ?1")
            .bind(&hex)
            .fetch_one(&mut *tx)
            .await?;
        let video = rows::video(&row)?;
        tx.commit().await?;
        Ok(Some(video))
    }

    async fn queue_depth(&self) -> StoreResult<(i64, i64)> {
        // One statement, so both counts come from one snapshot: counted apart, a video moving
        // from 2 back to 1 in between would be in neither.
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM videos WHERE status = 1), \
                    (SELECT COUNT(*) FROM videos WHERE status = 2)",
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
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE videos SET status = 2, lease_owner = ?1, lease_until = ?2, attempts = attempts + 1, \
             update_time = ?3 \
             WHERE _id = (SELECT q._id FROM videos q \
                          LEFT JOIN (SELECT uid, COUNT(*) AS n FROM videos WHERE status = 2 \
                                     GROUP BY uid) f ON f.uid = q.uid \
                          WHERE q.status = 1 AND q.run_after <= ?3 AND COALESCE(f.n, 0) < ?4 \
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
        let done = sqlx::query(
            "UPDATE videos SET lease_until = ?3 WHERE _id = ?1 AND status = 2 AND lease_owner = ?2",
        )
        .bind(id.to_hex())
        .bind(owner)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete(&self, done: Completion, now: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE videos SET status = 3, blob_key = ?3, video_duration = ?4, lease_owner = NULL, \
             lease_until = NULL, error_reason = NULL, update_time = ?5 \
             WHERE _id = ?1 AND status = 2 AND lease_owner = ?2",
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
        sqlx::query("DELETE FROM blob_deletions WHERE blob_key = ?1")
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
        let ours: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM videos WHERE _id = ?1 AND status = 2 AND lease_owner = ?2",
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
        let mut tx = self.write_tx().await?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "SELECT attempts FROM videos WHERE _id = ?1 AND status = 2 AND lease_owner = ?2",
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
                "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, run_after = ?2, \
                 update_time = ?3 WHERE _id = ?1",
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
             attempts = MAX(attempts - 1, 0), update_time = ?3 \
             WHERE _id = ?1 AND status = 2 AND lease_owner = ?2",
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
        let mut tx = self.write_tx().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT _id FROM videos WHERE status = 3 AND blob_key IS NOT NULL AND update_time < ?1 \
             ORDER BY update_time LIMIT ?2",
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
        let mut tx = self.write_tx().await?;
        let expired = sqlx::query(
            "SELECT _id, attempts FROM videos WHERE status = 2 AND lease_until IS NOT NULL AND lease_until < ?1",
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
                sqlx::query("UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, update_time = ?2 WHERE _id = ?1")
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
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = ?2 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d \
               WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 \
                 AND (d.lease_until IS NULL OR d.lease_until < ?1) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                                 WHERE e.video_id = d.video_id AND e.id < d.id AND e.state = 'pending') \
               ORDER BY d.id LIMIT ?3) \
             RETURNING *",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut found = rows
            .iter()
            .map(rows::delivery)
            .collect::<StoreResult<Vec<_>>>()?;
        found.sort_by_key(|d| d.id);
        Ok(found)
    }

    async fn webhook_credentials(&self, uid: i64) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT client_id, sealed_secret FROM credentials WHERE uid = ?1")
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
        let mut tx = self.write_tx().await?;
        // A delete may have removed the delivery while it was being sent; its attempt goes too.
        sqlx::query("INSERT INTO webhook_attempts (delivery_id, attempt, at, http_status, error) SELECT id, ?2, ?3, ?4, ?5 FROM webhook_deliveries WHERE id = ?1")
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
            "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at = COALESCE(?4, next_attempt_at), \
             lease_until = NULL, last_error = ?5, finished_at = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?6 END \
             WHERE id = ?1",
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
        let rows = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE ?1 IS NULL OR video_id = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(video_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let delivery = rows::delivery(row)?;
            let attempts = sqlx::query("SELECT attempt, at, http_status, error FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY id")
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
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2, \
             lease_until = NULL, finished_at = NULL WHERE id = ?1",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn stage_blob(&self, blob_key: &str, not_before: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO blob_deletions (blob_key, not_before) VALUES (?1, ?2)")
            .bind(blob_key)
            .bind(not_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn due_blob_deletions(&self, now: i64, limit: i64) -> StoreResult<Vec<BlobDeletion>> {
        let rows = sqlx::query("SELECT id, blob_key FROM blob_deletions WHERE not_before <= ?1 ORDER BY not_before, id LIMIT ?2")
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::blob_deletion).collect()
    }

    async fn finish_blob_deletion(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM blob_deletions WHERE id = ?1")
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
        sqlx::query("UPDATE blob_deletions SET attempts = attempts + 1, last_error = ?2, not_before = ?3 WHERE id = ?1")
            .bind(id)
            .bind(error)
            .bind(next_attempt)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
