//! DESIGN §4 step 2 on SQLite. The transaction holds the write lock from its first statement, so
//! the rows read here cannot change before they are deleted.

use sqlx::sqlite::SqlitePool;

use super::{hex_array, id_array, write_tx, Tx};
use crate::store::policy::{DeleteCandidate, DeletePlan};
use crate::store::{sql, BlobDeletion, DeleteOutcome, DeleteRequest, StoreResult};

/// One request in a transaction of its own.
pub(super) async fn alone(
    pool: &SqlitePool,
    request: &DeleteRequest,
    now: i64,
) -> StoreResult<DeleteOutcome> {
    let mut tx = write_tx(pool).await?;
    let outcome = delete_in(&mut tx, request, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// One request inside `tx` (which the caller commits): delete the caller's videos among the ids
/// that `DeletePlan` dooms, stage their files, forget them in the webhook outbox and the ledger.
pub(super) async fn delete_in(
    tx: &mut Tx,
    request: &DeleteRequest,
    now: i64,
) -> StoreResult<DeleteOutcome> {
    let (uid, ids) = (request.uid, &request.ids);
    if ids.is_empty() {
        return Ok(DeleteOutcome::default());
    }
    let candidates: Vec<DeleteCandidate> = sqlx::query_as(
        "SELECT _id, status, blob_key FROM videos \
         WHERE uid = $1 AND _id IN (SELECT value FROM json_each($2))",
    )
    .bind(uid)
    .bind(hex_array(ids)?)
    .fetch_all(&mut **tx)
    .await?;
    let plan = DeletePlan::of(candidates)?;
    let mut files = Vec::with_capacity(plan.files.len());
    if !plan.doomed.is_empty() {
        let doomed = id_array(&plan.doomed)?;
        sqlx::query("DELETE FROM videos WHERE _id IN (SELECT value FROM json_each($1))")
            .bind(&doomed)
            .execute(&mut **tx)
            .await?;
        for blob_key in &plan.files {
            let id: i64 = sqlx::query_scalar(sql::STAGE_BLOB)
                .bind(blob_key)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?;
            let blob_key = blob_key.clone();
            files.push(BlobDeletion { id, blob_key });
        }
        // Deletion removes every trace: pending and past callbacks go with the video.
        sqlx::query(
            "DELETE FROM webhook_deliveries \
             WHERE uid = $1 AND video_id IN (SELECT value FROM json_each($2))",
        )
        .bind(uid)
        .bind(&doomed)
        .execute(&mut **tx)
        .await?;
        // The ledger keeps the amounts (balances must stay auditable) but not which video.
        sqlx::query(
            "UPDATE credit_ledger SET video_id = NULL \
             WHERE uid = $1 AND video_id IN (SELECT value FROM json_each($2))",
        )
        .bind(uid)
        .bind(&doomed)
        .execute(&mut **tx)
        .await?;
    }
    plan.outcome(ids, files)
}
