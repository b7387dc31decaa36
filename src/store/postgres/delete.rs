//! DESIGN §4 step 2 on PostgreSQL, in one round trip: the server-side function
//! `i2v_delete_videos` (migrations/postgres/0007_delete_in_one_call.sql), called on its own, so
//! it is its own transaction.
//!
//! It locks the caller's rows among the ids (`FOR UPDATE`, in `_id` order, so two overlapping
//! deletes cannot deadlock; the lock returns each row's newest committed version, see the module
//! comment of `postgres`), deletes those not processing, stages their files in the deletion
//! outbox, and forgets them in the webhook outbox and the ledger, each statement on a snapshot
//! taken after the locks (the migration says why that matters).
//!
//! SQLite takes the same decision in Rust (`policy::DeletePlan`); here the rule "processing is
//! never deleted" is in the function, with the status code passed in from the domain.

use sqlx::Row;

use super::hexes;
use crate::domain::{ObjectId, VideoStatus};
use crate::store::{rows, BlobDeletion, DeleteOutcome, StoreResult};

const DELETE: &str = "SELECT what, item, file_id FROM i2v_delete_videos($1, $2, $3, $4)";

/// Calls of one delete when PostgreSQL breaks a deadlock by failing it. Another transaction that
/// locks several of an account's videos in another order (a reset deletes them all in table
/// order) can deadlock with a delete; the failed call changed nothing, so it is simply made again.
const ATTEMPTS: u32 = 5;

/// A deadlock victim (40P01) or a serialization failure (40001): nothing was applied.
fn lost_a_lock_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// One delete request, committed when this returns.
pub(super) async fn delete(
    pool: &sqlx::PgPool,
    uid: i64,
    ids: &[ObjectId],
    now: i64,
) -> StoreResult<DeleteOutcome> {
    let hexes = hexes(ids);
    let mut attempt = 1;
    let found = loop {
        let called = sqlx::query(DELETE)
            .bind(uid)
            .bind(&hexes)
            .bind(now)
            .bind(VideoStatus::Processing.code())
            .fetch_all(pool)
            .await;
        match called {
            Err(e) if attempt < ATTEMPTS && lost_a_lock_race(&e) => {
                tracing::debug!(attempt, error = %e, "delete chosen as a deadlock victim; again");
                attempt += 1;
            }
            other => break other?,
        }
    };
    let (mut deleted, mut processing, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for row in &found {
        let what: &str = row.try_get("what")?;
        let value: String = row.try_get("item")?;
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
