//! DESIGN §4 step 2 on PostgreSQL, as one statement: one round trip, its own transaction.
//!
//! The statement locks the caller's rows among the ids (`FOR UPDATE`, in `_id` order, so two
//! overlapping deletes cannot deadlock; the lock returns each row's newest committed version, see
//! the module comment of `postgres`), deletes those not processing, stages their files in the
//! deletion outbox, and forgets them in the webhook outbox and the ledger. Its data-modifying
//! parts all run to completion whatever the final SELECT reads, and they see one another only
//! through what `locked` and `doomed` return, which is all they need. Foreign keys are checked
//! at the end of the statement, after the ledger has let go of the deleted ids.
//!
//! SQLite takes the same decision in Rust (`policy::DeletePlan`); here the rule "processing is
//! never deleted" is the `status <> $4` below, with the status code bound from the domain.

use sqlx::Row;

use super::hexes;
use crate::domain::{ObjectId, VideoStatus};
use crate::store::{rows, BlobDeletion, DeleteOutcome, StoreResult};

const DELETE: &str = "\
WITH locked AS MATERIALIZED (
    SELECT _id, status, blob_key FROM videos
    WHERE uid = $1 AND _id = ANY($2)
    ORDER BY _id FOR UPDATE
), doomed AS (
    DELETE FROM videos v USING locked l
    WHERE v._id = l._id AND l.status <> $4
    RETURNING v._id, v.blob_key
), staged AS (
    INSERT INTO blob_deletions (blob_key, not_before)
    SELECT blob_key, $3 FROM doomed WHERE blob_key IS NOT NULL
    RETURNING id, blob_key
), callbacks AS (
    DELETE FROM webhook_deliveries w USING doomed d
    WHERE w.uid = $1 AND w.video_id = d._id
), ledger AS (
    UPDATE credit_ledger c SET video_id = NULL FROM doomed d
    WHERE c.uid = $1 AND c.video_id = d._id
)
SELECT 'deleted' AS what, _id AS value, NULL::BIGINT AS file_id FROM doomed
UNION ALL SELECT 'processing', _id, NULL FROM locked WHERE status = $4
UNION ALL SELECT 'file', blob_key, id FROM staged";

/// One delete request, committed when this returns.
pub(super) async fn delete(
    pool: &sqlx::PgPool,
    uid: i64,
    ids: &[ObjectId],
    now: i64,
) -> StoreResult<DeleteOutcome> {
    let found = sqlx::query(DELETE)
        .bind(uid)
        .bind(hexes(ids))
        .bind(now)
        .bind(VideoStatus::Processing.code())
        .fetch_all(pool)
        .await?;
    let (mut deleted, mut processing, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for row in &found {
        let what: &str = row.try_get("what")?;
        let value: String = row.try_get("value")?;
        match what {
            "deleted" => deleted.push(rows::object_id(&value)?),
            "processing" => processing.push(rows::object_id(&value)?),
            _ => files.push(BlobDeletion {
                id: row.try_get("file_id")?,
                blob_key: value,
            }),
        }
    }
    Ok(DeleteOutcome {
        deleted: rows::in_request_order(ids, deleted, |id| *id),
        processing: rows::in_request_order(ids, processing, |id| *id),
        files,
    })
}
