//! Returns expired leases to the queue (or fails them, with refund, after `max_attempts`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::store::Store;

pub async fn run_reaper(
    store: Arc<dyn Store>,
    max_attempts: i64,
    interval: Duration,
    stop: CancellationToken,
) {
    crate::periodic::every(interval, stop, || async {
        match store.reap_expired(now_ms(), max_attempts).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reaped = n, "expired render leases returned"),
            Err(e) => tracing::warn!(error = %e, "reaping expired leases failed; will retry"),
        }
    })
    .await
}
