//! Steps that several use-cases take inside their transaction.

use sqlx::Row;

use super::Tx;
use crate::store::{journal_body, sql, JournalEntry, StoreError, StoreResult};

/// Advisory lock key that serializes render claims across processes ("i2vclaim" in ASCII).
const CLAIM_LOCK: i64 = 0x6932_7663_6c61_696d;

/// Makes claims from every process take turns, so that the per-account count each one reads
/// includes the claims committed before it (READ COMMITTED would let two concurrent claims both
/// see room for one more). A claim is one short statement per render.
pub(super) async fn serialize_claims(tx: &mut Tx) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CLAIM_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Advisory lock key that serializes journal appends across processes ("i2vjrnl" in ASCII).
const JOURNAL_LOCK: i64 = 0x0069_3276_6a72_6e6c;

/// Appends `entries`, in their order, to the request journal, in two round trips. First the
/// transaction is readied:
/// - appends take turns, so that identity values are handed out in commit order: otherwise a
///   batch that drew smaller ids could commit after a reader polling with `since_id` has moved
///   past them (appends come in batches from one flusher per process);
/// - its commit does not wait for the WAL to reach the disk: the journal already accepts losing
///   its last 100 ms in a crash (they wait in memory), and a lost asynchronous commit leaves the
///   database consistent, so fsyncing every batch would only take the disk from the deletes;
/// - its trims (`sql::JOURNAL_TRIM`) walk the `(uid, id)` index in order, not as a bitmap: the
///   journal is a queue, so each account's range starts with the entries earlier trims deleted
///   and vacuum has not yet removed, and a bitmap scan visits every one of them in the heap at
///   every trim (the planner, seeing few live rows, prefers it). An index scan marks them dead in
///   the index once and skips them afterwards. Measured on PostgreSQL 15: a batch of 256 entries
///   with its four trims took 21.5 ms with bitmap scans, 3.5 ms without (2.6 ms with no trim).
///
/// Then the whole batch goes as one statement of column arrays, bodies compressed as
/// `journal_body::for_postgres` keeps them.
pub(super) async fn append_to_journal(tx: &mut Tx, entries: &[JournalEntry]) -> StoreResult<()> {
    let ready = format!(
        "SET LOCAL synchronous_commit = off; SET LOCAL enable_bitmapscan = off; \
         SELECT pg_advisory_xact_lock({JOURNAL_LOCK})"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(ready))
        .execute(&mut **tx)
        .await?;
    sqlx::query(sql::JOURNAL_APPEND_POSTGRES)
        .bind(column(entries, |e| e.uid))
        .bind(column(entries, |e| e.at_ms))
        .bind(column(entries, |e| e.method.as_str()))
        .bind(column(entries, |e| e.path.as_str()))
        .bind(column(entries, |e| e.query.as_str()))
        .bind(column(entries, |e| {
            journal_body::for_postgres(&e.request_body)
        }))
        .bind(column(entries, |e| e.status))
        .bind(column(entries, |e| e.code))
        .bind(column(entries, |e| {
            journal_body::for_postgres(&e.response_body)
        }))
        .bind(column(entries, |e| e.latency_ms))
        .bind(column(entries, |e| e.fault.as_deref()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One column of `entries`, as an array parameter.
fn column<'e, T>(entries: &'e [JournalEntry], value: impl Fn(&'e JournalEntry) -> T) -> Vec<T> {
    entries.iter().map(value).collect()
}

/// The account's balance, locked until the transaction ends; `NoSuchAccount` when there is none.
pub(super) async fn lock_balance(tx: &mut Tx, uid: i64) -> StoreResult<i64> {
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT credits FROM accounts WHERE uid = $1 FOR UPDATE")
            .bind(uid)
            .fetch_optional(&mut **tx)
            .await?;
    balance.ok_or(StoreError::NoSuchAccount(uid))
}

/// Records the callback for the video's current status (see `sql::ENQUEUE_WEBHOOK`).
pub(super) async fn enqueue_webhook(tx: &mut Tx, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(sql::ENQUEUE_WEBHOOK)
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The attempts of the video while `owner` holds its lease, with the row locked until the
/// transaction ends; `None` when the lease is not theirs.
pub(super) async fn leased_attempts(
    tx: &mut Tx,
    id: &str,
    owner: &str,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT attempts FROM videos WHERE _id = $1 AND status = 2 AND lease_owner = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Moves a video to failed and refunds what it was charged; the caller holds the row lock and
/// has checked the lease. One statement reads the old charge and writes the new row.
pub(super) async fn fail_and_refund(
    tx: &mut Tx,
    id: &str,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
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
    if charged > 0 {
        sqlx::query(sql::ADD_CREDITS)
            .bind(uid)
            .bind(charged)
            .execute(&mut **tx)
            .await?;
        sqlx::query(sql::LEDGER_REFUND)
            .bind(uid)
            .bind(charged)
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Schedules a finished video's output for removal and forgets it on the row, in one statement.
pub(super) async fn drop_output(tx: &mut Tx, id: &str, now: i64) -> StoreResult<()> {
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
