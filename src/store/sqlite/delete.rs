//! DESIGN §4 step 2 on SQLite. The transaction holds the write lock from its first statement, so
//! the rows read here cannot change before they are deleted.
//!
//! Requests come in groups (`group_commit`): one transaction applies several, one after another
//! in the order they arrived, each seeing the ones before it. The decisions are taken in memory,
//! request by request, on one read of every candidate; the writes they add up to are then made
//! with one statement of each kind for the whole group. A statement is a hand-off to sqlx's
//! connection thread and back, so a group of 30 requests makes about five of them instead of 150,
//! and the write lock (and the commit every waiting request waits for) is held that much shorter.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::sqlite::SqlitePool;

use super::{id_array, write_tx, Tx};
use crate::domain::ObjectId;
use crate::store::policy::{DeleteCandidate, DeletePlan};
use crate::store::{sql, BlobDeletion, DeleteOutcome, DeleteRequest, StoreResult};

/// One request in a transaction of its own.
pub(super) async fn alone(
    pool: &SqlitePool,
    request: &DeleteRequest,
    now: i64,
) -> StoreResult<DeleteOutcome> {
    let mut tx = write_tx(pool).await?;
    let mut outcomes = group_in(&mut tx, &[(request.clone(), now)]).await?;
    tx.commit().await?;
    Ok(outcomes.pop().unwrap_or_default())
}

/// A candidate and the account it belongs to.
#[derive(sqlx::FromRow)]
struct Owned {
    uid: i64,
    #[sqlx(flatten)]
    candidate: DeleteCandidate,
}

/// The requests of `group` inside `tx` (which the caller commits), in order: each deletes the
/// caller's videos among its ids that `DeletePlan` dooms and that no earlier request of the group
/// took, stages their files, and forgets them in the webhook outbox and the ledger. An error
/// means the caller must roll back: nothing of the group may count.
pub(super) async fn group_in(
    tx: &mut Tx,
    group: &[(DeleteRequest, i64)],
) -> StoreResult<Vec<DeleteOutcome>> {
    let asked: Vec<String> = group
        .iter()
        .flat_map(|(request, _)| request.ids.iter().map(ObjectId::to_hex))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if asked.is_empty() {
        return Ok(vec![DeleteOutcome::default(); group.len()]);
    }
    let found: Vec<Owned> = sqlx::query_as(
        "SELECT uid, _id, status, blob_key FROM videos \
         WHERE _id IN (SELECT value FROM json_each($1))",
    )
    .bind(id_array(&asked)?)
    .fetch_all(&mut **tx)
    .await?;
    let mut present: HashMap<String, Owned> = found
        .into_iter()
        .map(|owned| (owned.candidate.id.clone(), owned))
        .collect();

    // Each request's plan, on what the requests before it left.
    let mut plans = Vec::with_capacity(group.len());
    let mut doomed_by_uid: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (request, _) in group {
        let mut seen = HashSet::new();
        let mine = request
            .ids
            .iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| {
                let hex = id.to_hex();
                match present.get(&hex) {
                    Some(owned) if owned.uid == request.uid => Some(DeleteCandidate {
                        id: hex,
                        status: owned.candidate.status,
                        blob_key: owned.candidate.blob_key.clone(),
                    }),
                    _ => None,
                }
            })
            .collect();
        let plan = DeletePlan::of(mine)?;
        for id in &plan.doomed {
            present.remove(id);
        }
        doomed_by_uid
            .entry(request.uid)
            .or_default()
            .extend(plan.doomed.iter().cloned());
        plans.push(plan);
    }

    let doomed: Vec<&String> = doomed_by_uid.values().flatten().collect();
    if !doomed.is_empty() {
        let doomed = id_array(&doomed)?;
        sqlx::query("DELETE FROM videos WHERE _id IN (SELECT value FROM json_each($1))")
            .bind(&doomed)
            .execute(&mut **tx)
            .await?;
        // Deletion removes every trace: pending and past callbacks go with the video (ids are
        // unique across accounts, so the video id alone names them).
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE video_id IN (SELECT value FROM json_each($1))",
        )
        .bind(&doomed)
        .execute(&mut **tx)
        .await?;
    }
    // The ledger keeps the amounts (balances must stay auditable) but not which video. Its index
    // is (uid, video_id): one statement per account of the group.
    for (uid, ids) in doomed_by_uid.iter().filter(|(_, ids)| !ids.is_empty()) {
        sqlx::query(
            "UPDATE credit_ledger SET video_id = NULL \
             WHERE uid = $1 AND video_id IN (SELECT value FROM json_each($2))",
        )
        .bind(uid)
        .bind(id_array(ids)?)
        .execute(&mut **tx)
        .await?;
    }

    let mut outcomes = Vec::with_capacity(group.len());
    for ((request, now), plan) in group.iter().zip(plans) {
        let mut files = Vec::with_capacity(plan.files.len());
        for blob_key in &plan.files {
            let id: i64 = sqlx::query_scalar(sql::STAGE_BLOB)
                .bind(blob_key)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?;
            files.push(BlobDeletion {
                id,
                blob_key: blob_key.clone(),
            });
        }
        outcomes.push(plan.outcome(&request.ids, files)?);
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::test_store::store_with_videos;
    use crate::store::{Accounts, Videos};

    fn request(uid: i64, ids: &[ObjectId]) -> (DeleteRequest, i64) {
        let ids = ids.to_vec();
        (DeleteRequest { uid, ids }, 1_754_006_500_000)
    }

    /// One transaction, decisions in memory: each request is answered as if the ones before it
    /// had run alone, a repeated id counts once, another account's ids are not found, and
    /// every trace of a deleted video goes (the ledger keeps its amounts).
    #[tokio::test]
    async fn a_group_answers_each_request_as_if_the_ones_before_ran_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, uid, videos) = store_with_videos(dir.path()).await;
        let [x, y, z] = [videos[0].id, videos[1].id, videos[2].id];
        let stranger = uid + 1;
        let group = [
            request(uid, &[x, y, x]),
            request(stranger, &[z]),
            request(uid, &[y, z]),
            request(uid, &[]),
            request(uid, &[x]),
        ];
        let charged = store.ledger(uid, 100).await.unwrap();
        assert!(charged.iter().any(|entry| entry.video_id.is_some()));
        let mut tx = write_tx(&store.pool).await.unwrap();
        let outcomes = group_in(&mut tx, &group).await.unwrap();
        tx.commit().await.unwrap();

        let deleted: Vec<Vec<ObjectId>> = outcomes.iter().map(|o| o.deleted.clone()).collect();
        assert_eq!(deleted, [vec![x, y], vec![], vec![z], vec![], vec![]]);
        assert!(outcomes
            .iter()
            .all(|o| o.processing.is_empty() && o.files.is_empty()));
        assert!(store
            .videos_by_ids(uid, &[x, y, z])
            .await
            .unwrap()
            .is_empty());
        let ledger = store.ledger(uid, 100).await.unwrap();
        assert!(ledger.iter().any(|entry| entry.amount < 0), "{ledger:?}");
        assert!(
            ledger.iter().all(|entry| entry.video_id.is_none()),
            "{ledger:?}"
        );
        assert_eq!(
            store.ledger_sum(uid).await.unwrap(),
            store.account(uid).await.unwrap().unwrap().credits
        );
    }
}
