//! The request journal's writer: entries are recorded in memory by the request path and written
//! to the store in batches by a background task, so journaling costs a request a push, not a
//! transaction. Reading or clearing the journal writes what is pending first, so this process's
//! requests are always there; another process's appear within `FLUSH_EVERY` (PostgreSQL).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{JournalEntry, JournalFilter, Store, StoreResult};

/// How often pending entries are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Pending entries that wake the writer early.
const BATCH: usize = 256;
/// Pending entries kept while the store cannot take them; older ones are dropped beyond it.
const MAX_PENDING: usize = 20_000;

pub struct Recorder {
    store: Arc<dyn Store>,
    pub enabled: bool,
    max_per_account: i64,
    /// A queue: when the store lags, the oldest entry goes in O(1), under the lock requests take.
    pending: Mutex<VecDeque<JournalEntry>>,
    /// One writer at a time, so entries reach the store in the order they were recorded.
    writing: tokio::sync::Mutex<()>,
    wake: Notify,
}

impl Recorder {
    pub fn new(store: Arc<dyn Store>, config: &crate::config::Journal) -> Recorder {
        Recorder {
            store,
            enabled: config.enabled,
            max_per_account: config.max_per_account,
            pending: Mutex::new(VecDeque::new()),
            writing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
        }
    }

    pub fn record(&self, entry: JournalEntry) {
        let mut pending = self.pending.lock().expect("journal lock");
        if pending.len() >= MAX_PENDING {
            pending.pop_front();
            tracing::warn!("request journal: the store is not keeping up; oldest entry dropped");
        }
        pending.push_back(entry);
        if pending.len() >= BATCH {
            self.wake.notify_one();
        }
    }

    /// Writes every pending entry.
    pub async fn flush(&self) -> StoreResult<()> {
        let _writing = self.writing.lock().await;
        let mut batch = std::mem::take(&mut *self.pending.lock().expect("journal lock"));
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = self
            .store
            .append_requests(batch.make_contiguous(), self.max_per_account)
            .await
        {
            // Put back in front of what came meanwhile, for the next try.
            let mut pending = self.pending.lock().expect("journal lock");
            let newer = std::mem::replace(&mut *pending, batch);
            pending.extend(newer);
            let excess = pending.len().saturating_sub(MAX_PENDING);
            pending.drain(..excess);
            return Err(e);
        }
        Ok(())
    }

    pub async fn requests(&self, filter: &JournalFilter) -> StoreResult<Vec<JournalEntry>> {
        self.flush().await?;
        self.store.requests(filter).await
    }

    pub async fn clear(&self, uid: Option<i64>) -> StoreResult<u64> {
        self.flush().await?;
        self.store.clear_requests(uid).await
    }

    /// Writes pending entries every `FLUSH_EVERY` (sooner when many wait) until `stop`, then
    /// once more.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = self.wake.notified() => {}
            }
            if let Err(e) = self.flush().await {
                tracing::warn!(error = %e, "request journal: writing failed; will retry");
            }
        }
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, "request journal: last write at shutdown failed");
        }
    }
}
