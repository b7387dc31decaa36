//! The accept loop: one slot per connection, waiting in the listen backlog at the cap, backing
//! off when accepting fails, and a graceful stop.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::serve_connection;
use super::limits::Limits;

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// request in flight finish (idle connections close at once) and returns when all connections
/// are closed.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let closing = CancellationToken::new();
    let builder = Arc::new(connection_builder());
    let mut backoff = AcceptBackoff::default();
    let mut cap_logged: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if cap_logged.is_none_or(|at| at.elapsed() >= CAP_LOG_EVERY) {
                    cap_logged = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; new clients wait in the listen backlog"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break, // the semaphore is never closed
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff.succeeded();
                tokio::spawn(serve_connection(
                    stream,
                    router.clone(),
                    builder.clone(),
                    limits,
                    closing.clone(),
                    slot,
                ));
            }
            Err(e) if is_peer_error(&e) => {
                tracing::debug!(error = %e, "a connection failed before it was accepted");
            }
            Err(e) => {
                // EMFILE and friends: retrying at once would spin and log thousands of times a
                // second while nothing can be accepted anyway.
                let (delay, report) = backoff.failed(Instant::now());
                if let Some(suppressed) = report {
                    tracing::error!(
                        error = %e,
                        open_connections = limits
                            .max_connections
                            .saturating_sub(slots.available_permits() + 1),
                        retry_in_ms = delay.as_millis() as u64,
                        suppressed,
                        "accept failed; backing off"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    closing.cancel();
    // Every connection holds a slot until it closes, so holding them all means all are closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _all = slots.acquire_many(all).await;
}

const CAP_LOG_EVERY: Duration = Duration::from_secs(60);

fn connection_builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // The watchdog enforces the header timeout (see the module comment); hyper's would also
    // cut idle keep-alive connections short.
    builder.http1().header_read_timeout(None);
    builder
}

/// Errors of one failed handshake, not of the listener: accept the next one at once.
fn is_peer_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Delay after a failed accept: 100 ms doubling to 1 s, reset by a success; and a log line at
/// most once a second, counting the failures it did not log.
#[derive(Debug)]
struct AcceptBackoff {
    next_delay: Duration,
    last_report: Option<Instant>,
    suppressed: u64,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        AcceptBackoff {
            next_delay: AcceptBackoff::FIRST,
            last_report: None,
            suppressed: 0,
        }
    }
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(1);
    const REPORT_EVERY: Duration = Duration::from_secs(1);

    /// How long to wait, and `Some(failures not reported since the last report)` when this one
    /// should be logged.
    fn failed(&mut self, now: Instant) -> (Duration, Option<u64>) {
        let delay = self.next_delay;
        self.next_delay = (delay * 2).min(AcceptBackoff::MAX);
        let due = self
            .last_report
            .is_none_or(|at| now.saturating_duration_since(at) >= AcceptBackoff::REPORT_EVERY);
        if due {
            self.last_report = Some(now);
            (delay, Some(std::mem::take(&mut self.suppressed)))
        } else {
            self.suppressed += 1;
            (delay, None)
        }
    }

    fn succeeded(&mut self) {
        self.next_delay = AcceptBackoff::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_and_are_reported_once_a_second() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut backoff = AcceptBackoff::default();
        assert_eq!(backoff.failed(start), (ms(100), Some(0)));
        assert_eq!(backoff.failed(start + ms(100)), (ms(200), None));
        assert_eq!(backoff.failed(start + ms(300)), (ms(400), None));
        assert_eq!(backoff.failed(start + ms(700)), (ms(800), None));
        assert_eq!(backoff.failed(start + ms(1500)), (ms(1000), Some(3)));
        assert_eq!(backoff.failed(start + ms(2500)), (ms(1000), Some(0)));
        backoff.succeeded();
        assert_eq!(backoff.failed(start + ms(2600)), (ms(100), None));
    }
}
