//! The shape every background loop shares: do a pass now, then again every `interval`, until
//! `stop` is cancelled. A pass is never interrupted; cancellation is noticed between passes.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub async fn every<F, Fut>(interval: Duration, stop: CancellationToken, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        pass().await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
