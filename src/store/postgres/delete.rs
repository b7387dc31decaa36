//! DESIGN §4 step 2 on PostgreSQL: the decision is taken on locked rows (see the module comment
//! of `postgres`).

use super::{hexes, Tx};
use crate::domain::ObjectId;
use crate::store::policy::{DeleteCandidate, DeletePlan};
use crate::store::{rows, DeleteOutcome, StoreResult};

/// One request inside `tx` (which the caller commits): lock the caller's videos among the ids,
/// delete those `DeletePlan` dooms, stage their files, forget them in the webhook outbox and the
/// ledger.
pub(super) async fn delete_in(
    tx: &mut Tx,
    uid: i64,
    ids: &[ObjectId],
    now: i64,
) -> StoreResult<DeleteOutcome> {
    if ids.is_empty() {
        return Ok(DeleteOutcome::default());
    }
    // In `_id` order, so that two overlapping deletes cannot deadlock.
    let candidates: Vec<DeleteCandidate> = sqlx::query_as(
        "SELECT _id, status, blob_key FROM videos WHERE uid = $1 AND _id = ANY($2) \
         ORDER BY _id FOR UPDATE",
    )
    .bind(uid)
    .bind(hexes(ids))
    .fetch_all(&mut **tx)
    .await?;
    let plan = DeletePlan::of(candidates)?;
    let mut files = Vec::with_capacity(plan.files.len());
    if !plan.doomed.is_empty() {
        sqlx::query("DELETE FROM videos WHERE _id = ANY($1)")
            .bind(&plan.doomed)
            .execute(&mut **tx)
            .await?;
        if !plan.files.is_empty() {
            let staged = sqlx::query(
                "INSERT INTO blob_deletions (blob_key, not_before) \
                 SELECT key, $2 FROM UNNEST($1::TEXT[]) AS key RETURNING id, blob_key",
            )
            .bind(&plan.files)
            .bind(now)
            .fetch_all(&mut **tx)
            .await?;
            for row in &staged {
                files.push(rows::blob_deletion(row)?);
            }
        }
        // Deletion removes every trace: pending and past callbacks go with the video.
        sqlx::query("DELETE FROM webhook_deliveries WHERE uid = $1 AND video_id = ANY($2)")
            .bind(uid)
            .bind(&plan.doomed)
            .execute(&mut **tx)
            .await?;
        // The ledger keeps the amounts (balances must stay auditable) but not which video.
        sqlx::query(
            "UPDATE credit_ledger SET video_id = NULL WHERE uid = $1 AND video_id = ANY($2)",
        )
        .bind(uid)
        .bind(&plan.doomed)
        .execute(&mut **tx)
        .await?;
    }
    plan.outcome(ids, files)
}
