//! Drains the file-deletion outbox (`blob_deletions`). Rows are written in the same transaction
//! that deletes a video (or before a worker uploads), so a crash at any point leaves a row here
//! and the next sweep removes the file: nothing is orphaned, nothing is removed twice by mistake.

use std::time::Duration;

use tokio_util::sync::CancellationToken as CancelToken;

use crate::app::App;
use crate::blobs::Blobs;
use crate::clock::now_ms;
use crate::store::{BlobDeletion, FileOutbox, StoreError, Videos};

/// How many outbox rows one sweep pass takes at a time.
const BATCH: i64 = 200;
/// Failed removals are retried after this long (then doubled, up to an hour).
const RETRY_BASE_MS: i64 = 5_000;

/// Removes the given files now, within `deadline`, and clears their outbox rows; what fails or
/// runs out of time stays in the outbox for the sweeper.
pub async fn remove_now(
    store: &dyn FileOutbox,
    blobs: &Blobs,
    files: Vec<BlobDeletion>,
    deadline: Duration,
) {
    if files.is_empty() {
        return;
    }
    let work = async {
        for file in files {
            remove_one(store, blobs, &file, 0).await;
        }
    };
    if tokio::time::timeout(deadline, work).await.is_err() {
        tracing::warn!("file removal ran past its deadline; the sweeper will finish it");
    }
}

/// One pass over every due row. Returns how many files were removed.
pub async fn sweep(store: &dyn FileOutbox, blobs: &Blobs) -> Result<usize, StoreError> {
    let mut removed = 0;
    loop {
        let now = now_ms();
        let due = store.due_blob_deletions(now, BATCH).await?;
        let batch_len = due.len();
        let mut progressed = 0;
        for file in &due {
            if remove_one(store, blobs, file, now).await {
                progressed += 1;
            }
        }
        removed += progressed;
        // A short batch means we saw everything due; a batch with no progress means every
        // remaining row has just been rescheduled into the future.
        if batch_len < BATCH as usize || progressed == 0 {
            return Ok(removed);
        }
    }
}

async fn remove_one(store: &dyn FileOutbox, blobs: &Blobs, file: &BlobDeletion, now: i64) -> bool {
    match blobs.delete(&file.blob_key).await {
        Ok(()) => match store.finish_blob_deletion(file.id).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "file removed but its outbox row stays; the next sweep clears it");
                false
            }
        },
        Err(e) => {
            tracing::warn!(key = %file.blob_key, error = %e, "file removal failed; will retry");
            let next = now.max(now_ms()) + RETRY_BASE_MS;
            if let Err(e) = store
                .retry_blob_deletion(file.id, &e.to_string(), next)
                .await
            {
                tracing::warn!(error = %e, "could not reschedule file removal");
            }
            false
        }
    }
}

/// Retention: forgets outputs completed more than `keep` ago (their files join the outbox);
/// zero keeps them forever.
pub async fn expire_old_outputs(store: &dyn Videos, keep: Duration) -> Result<u64, StoreError> {
    if keep.is_zero() {
        return Ok(0);
    }
    let now = now_ms();
    let cutoff = now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
    let mut total = 0;
    loop {
        let n = store.expire_outputs(cutoff, now, BATCH).await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Retention and the outbox sweep, at once and then every `sweeper.interval_secs`, until `stop`.
pub async fn run_housekeeping(app: App, stop: CancelToken) {
    let interval = app.config.sweeper.interval.max(Duration::from_secs(1));
    crate::periodic::every(interval, stop, || async {
        match expire_old_outputs(app.store.as_ref(), app.config.retention.keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "outputs past retention scheduled for removal"),
            Err(e) => tracing::warn!(error = %e, "retention pass failed; will retry"),
        }
        match sweep(app.store.as_ref(), &app.blobs).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "deletion outbox swept"),
            Err(e) => tracing::warn!(error = %e, "deletion outbox sweep failed; will retry"),
        }
    })
    .await
}
