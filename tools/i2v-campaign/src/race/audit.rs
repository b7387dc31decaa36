//! The state checks after a round has quiesced (DESIGN §4 "after quiescence", and the credit
//! ledger). First the deletion outbox is swept as if far in the future, so staged files whose
//! grace has not run out yet are gone too: every worker has stopped, so none is still in use.

use i2v::blobs::Blobs;
use std::collections::{HashMap, HashSet};

use i2v::clock::now_ms;
use i2v::domain::{ObjectId, VideoStatus};
use i2v::App;

use super::findings::all_ok;
use super::history::Verdict;

/// Far enough ahead that every staged removal is due.
const FAR_FUTURE_MS: i64 = 100 * 365 * 86_400_000;

/// What must be gone: `deleted` every id ever deleted or removed by a reset, `fresh` the ones
/// gone this round; `maybe` ids stored while a reset ran (either way is right).
pub struct Gone<'a> {
    pub deleted: &'a HashSet<ObjectId>,
    pub fresh: &'a HashSet<ObjectId>,
    pub maybe: &'a HashSet<ObjectId>,
}

/// `owners`: every video ever created, with its account; `uids`: every account.
pub async fn audit(
    app: &App,
    owners: &HashMap<ObjectId, i64>,
    gone_ids: &Gone<'_>,
    uids: &[i64],
) -> Vec<Verdict> {
    let (deleted, fresh) = (gone_ids.deleted, gone_ids.fresh);
    let swept = sweep_all(app).await;
    let rows = live_rows(app, owners, deleted, gone_ids.maybe).await;
    let (completed, files) = match (&rows, app.blobs.list_keys().await) {
        (Ok(rows), Ok(files)) => (rows_to_keys(rows), files),
        (Err(e), _) => (Err(e.clone()), vec![]),
        (_, Err(e)) => (Err(format!("list files: {e}")), vec![]),
    };
    vec![
        ("the deletion outbox sweeps clean once workers stop", swept),
        (
            "no video is left queued or processing",
            nothing_pending(app, &rows).await,
        ),
        (
            "deleted and reset videos are gone for good, with their callback records",
            gone(app, owners, deleted, fresh).await,
        ),
        (
            "every completed video has its file",
            completed.clone().and_then(|keys| has_files(&keys, &files)),
        ),
        (
            "no file without a completed video",
            completed.and_then(|keys| no_orphans(&keys, &files)),
        ),
        (
            "every balance equals its ledger sum",
            ledgers(app, uids).await,
        ),
    ]
}

async fn sweep_all(app: &App) -> Result<(), String> {
    let store = &app.store;
    let far = now_ms() + FAR_FUTURE_MS;
    // Bounded: each pass removes what it takes, so a store that keeps answering is a bug.
    for _ in 0..1000 {
        let due = store
            .due_blob_deletions(far, 500)
            .await
            .map_err(|e| e.to_string())?;
        if due.is_empty() {
            return Ok(());
        }
        for file in due {
            app.blobs
                .delete(&file.blob_key)
                .await
                .map_err(|e| e.to_string())?;
            store
                .finish_blob_deletion(file.id)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Err("the outbox still has due rows after 1000 passes".into())
}

/// (id, status, blob key) of every video that should still exist.
type Row = (ObjectId, VideoStatus, Option<String>);

async fn live_rows(
    app: &App,
    owners: &HashMap<ObjectId, i64>,
    deleted: &HashSet<ObjectId>,
    maybe: &HashSet<ObjectId>,
) -> Result<Vec<Row>, String> {
    let mut by_owner: HashMap<i64, Vec<ObjectId>> = HashMap::new();
    for (id, uid) in owners.iter().filter(|(id, _)| !deleted.contains(id)) {
        by_owner.entry(*uid).or_default().push(*id);
    }
    let mut rows = Vec::new();
    // Stored while a reset ran: gone or kept, but if kept, held to the same checks.
    for id in maybe.iter().filter(|id| !deleted.contains(id)) {
        let uid = owners.get(id).copied().unwrap_or_default();
        if let Some(ids) = by_owner.get_mut(&uid) {
            ids.retain(|x| x != id);
        }
        let found = app
            .store
            .videos_by_ids(uid, &[*id])
            .await
            .map_err(|e| e.to_string())?;
        rows.extend(found.into_iter().map(|v| (v.id, v.status, v.blob_key)));
    }
    for (uid, ids) in by_owner {
        for chunk in ids.chunks(100) {
            let found = app
                .store
                .videos_by_ids(uid, chunk)
                .await
                .map_err(|e| e.to_string())?;
            if found.len() != chunk.len() {
                return Err(format!(
                    "uid {uid}: {} of {} undeleted videos missing",
                    chunk.len() - found.len(),
                    chunk.len()
                ));
            }
            rows.extend(found.into_iter().map(|v| (v.id, v.status, v.blob_key)));
        }
    }
    Ok(rows)
}

async fn nothing_pending(app: &App, rows: &Result<Vec<Row>, String>) -> Result<(), String> {
    let depth = app.store.queue_depth().await.map_err(|e| e.to_string())?;
    if depth != (0, 0) {
        return Err(format!("queue depth (queued, processing) = {depth:?}"));
    }
    let rows = rows.as_ref().map_err(|e| e.clone())?;
    all_ok(
        rows.iter()
            .filter(|(_, s, _)| matches!(s, VideoStatus::Queued | VideoStatus::Processing))
            .map(|(id, s, _)| format!("{id} has status {}", s.code()))
            .collect(),
    )
}

/// Completed videos' file keys; a completed video without one is an error.
fn rows_to_keys(rows: &[Row]) -> Result<HashSet<String>, String> {
    let mut keys = HashSet::new();
    for (id, status, key) in rows.iter().filter(|(_, s, _)| *s == VideoStatus::Completed) {
        let key = key
            .clone()
            .ok_or_else(|| format!("{id} has status {} but no file key", status.code()))?;
        keys.insert(key);
    }
    Ok(keys)
}

fn has_files(completed: &HashSet<String>, files: &[String]) -> Result<(), String> {
    let files: HashSet<&String> = files.iter().collect();
    all_ok(
        completed
            .iter()
            .filter(|k| !files.contains(k))
            .map(|k| format!("{k} is missing"))
            .collect(),
    )
}

/// Every file is a completed video's, or that file's poster.
fn no_orphans(completed: &HashSet<String>, files: &[String]) -> Result<(), String> {
    let posters: HashSet<String> = completed
        .iter()
        .filter_map(|k| Blobs::poster_key(k))
        .collect();
    all_ok(
        files
            .iter()
            .filter(|k| !completed.contains(*k) && !posters.contains(*k))
            .map(|k| format!("{k} has no completed video"))
            .collect(),
    )
}

/// No row for any deleted id (checked in batches), and no file key for this round's.
async fn gone(
    app: &App,
    owners: &HashMap<ObjectId, i64>,
    deleted: &HashSet<ObjectId>,
    fresh: &HashSet<ObjectId>,
) -> Result<(), String> {
    let mut bad = Vec::new();
    let mut by_owner: HashMap<i64, Vec<ObjectId>> = HashMap::new();
    for id in deleted {
        let uid = owners.get(id).copied().unwrap_or_default();
        by_owner.entry(uid).or_default().push(*id);
    }
    for (uid, ids) in by_owner {
        for chunk in ids.chunks(100) {
            let rows = app
                .store
                .videos_by_ids(uid, chunk)
                .await
                .map_err(|e| e.to_string())?;
            bad.extend(
                rows.iter()
                    .map(|v| format!("{} still has a row (status {})", v.id, v.status.code())),
            );
        }
    }
    for id in fresh {
        if let Some(key) = app
            .store
            .blob_key_of(*id)
            .await
            .map_err(|e| e.to_string())?
        {
            bad.push(format!("{id} still has a file key {key}"));
        }
        let callbacks = app
            .store
            .webhook_deliveries(Some(&id.to_hex()), 10)
            .await
            .map_err(|e| e.to_string())?;
        if !callbacks.is_empty() {
            bad.push(format!(
                "{id} still has {} callback record(s)",
                callbacks.len()
            ));
        }
    }
    all_ok(bad)
}

async fn ledgers(app: &App, uids: &[i64]) -> Result<(), String> {
    let mut bad = Vec::new();
    for &uid in uids {
        let account = app.store.account(uid).await.map_err(|e| e.to_string())?;
        let sum = app.store.ledger_sum(uid).await.map_err(|e| e.to_string())?;
        match account {
            Some(a) if a.credits == sum => {}
            Some(a) => bad.push(format!(
                "uid {uid}: balance {} but ledger sum {sum}",
                a.credits
            )),
            None => bad.push(format!("uid {uid}: account missing")),
        }
    }
    all_ok(bad)
}
