//! The accept loop: the router served by hyper with what `axum::serve` lacks on a public
//! server: a header-read timeout, an idle keep-alive timeout, a request-body timeout, a stall
//! timeout for clients that stop reading, and a cap on open connections.
//!
//! hyper's own `header_read_timeout` is not used: it restarts the moment a keep-alive connection
//! goes idle, so it would close every idle connection after the header timeout and leave no room
//! for a longer idle timeout. Instead each connection has a watchdog ([`Activity`]) that knows
//! whether a request is in flight (the service sees it start; dropping the response body ends
//! it) and when the client started sending its next request (the IO wrapper sees reads).
//!
//! At the cap the loop stops accepting instead of accepting and closing: waiting clients sit in
//! the kernel's listen backlog and are served as soon as a slot frees, and slots held by slow
//! clients free within the header timeout. Accepting and closing would turn every attack into
//! errors for real clients too, and would still spend a descriptor per attempt.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, Version};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::Config;

/// Descriptors kept back from the connection cap for everything else the process opens: the
/// listener, logs, outbound image/audio/webhook requests, files served by `/files`.
const RESERVED_DESCRIPTORS: u64 = 256;
/// Per render worker: ffmpeg's pipes, its input files and the staged output.
const DESCRIPTORS_PER_WORKER: u64 = 8;

/// How the server treats client connections; built from `[server]` by [`Limits::at_start_up`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    /// The effective cap: `server.max_connections`, lowered to fit the open-file limit.
    pub max_connections: usize,
}

impl Limits {
    /// `[server]` with `max_connections` lowered so that connections plus `reserved` other
    /// descriptors fit in `open_files` (when known).
    pub fn new(server: &crate::config::Server, open_files: Option<u64>, reserved: u64) -> Limits {
        let fits = open_files.map_or(usize::MAX, |n| {
            usize::try_from(n.saturating_sub(reserved).max(1)).unwrap_or(usize::MAX)
        });
        Limits {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            body_read_timeout: server.body_read_timeout,
            max_connections: server.max_connections.min(fits),
        }
    }

    /// Raises the open-file limit as far as allowed, then sizes the cap to it; warns when the
    /// configured cap does not fit.
    pub fn at_start_up(config: &Config) -> Limits {
        let open_files = raise_open_file_limit();
        let worker_count = u64::try_from(config.worker_count()).unwrap_or(u64::MAX);
        let reserved = RESERVED_DESCRIPTORS
            .saturating_add(u64::from(config.database.max_connections))
            .saturating_add(DESCRIPTORS_PER_WORKER.saturating_mul(worker_count));
        let limits = Limits::new(&config.server, open_files, reserved);
        if limits.max_connections < config.server.max_connections {
            tracing::warn!(
                configured = config.server.max_connections,
                effective = limits.max_connections,
                open_file_limit = open_files,
                reserved,
                "server.max_connections lowered to fit the open-file limit (raise `ulimit -n` \
                 or LimitNOFILE to allow more)"
            );
        }
        limits
    }
}

/// Raises the soft open-file limit to the hard one where the system allows it and returns the
/// soft limit now in force (`None` when it cannot be read).
#[cfg(unix)]
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
pub fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let as_u64 = |n| u64::try_from(n).unwrap_or(u64::MAX);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        // macOS refuses an unlimited soft limit; keeping the old one is the right fallback.
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return Some(as_u64(hard)),
            Err(e) => tracing::debug!(error = %e, "could not raise the open-file limit"),
        }
    }
    Some(as_u64(soft))
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

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

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    limits: Limits,
    closing: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(WatchedIo {
        stream,
        activity: activity.clone(),
        write_stalled: false,
    });
    let service = ConnectionService {
        router,
        activity: activity.clone(),
        body_read_timeout: limits.body_read_timeout,
    };
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let mut draining = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = closing.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = activity.expired(&limits) => {
                tracing::debug!("closing a slow or idle connection");
                return;
            }
        }
    }
}

/// What one connection's watchdog needs to know: whether a request is in flight, and since when
/// the connection has been waiting on its client.
struct Activity {
    phase: Mutex<Phase>,
    /// Woken when a deadline may have moved earlier.
    changed: Notify,
}

#[derive(Clone, Debug)]
struct Phase {
    accepted_at: Instant,
    /// Requests whose response body has not been dropped yet.
    in_flight: usize,
    /// A request has started on this connection.
    served: bool,
    /// HTTP/2 clients send frames (pings, window updates) between requests, so bytes while idle
    /// do not mean a request head has begun.
    http2: bool,
    /// When `in_flight` last fell to zero.
    idle_since: Instant,
    /// First byte read since then: a request head has begun.
    head_since: Option<Instant>,
    /// Since when a write has been waiting for the client to read.
    write_stalled_since: Option<Instant>,
}

impl Phase {
    /// When the connection should be closed, if nothing changes before then.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let waiting_for_request = if self.in_flight > 0 {
            None
        } else if !self.served {
            Some(self.accepted_at + limits.header_read_timeout)
        } else {
            match self.head_since {
                Some(at) if !self.http2 => Some(at + limits.header_read_timeout),
                _ => Some(self.idle_since + limits.idle_timeout),
            }
        };
        let stalled = self.write_stalled_since.map(|at| at + limits.idle_timeout);
        match (waiting_for_request, stalled) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Activity {
    fn new(now: Instant) -> Activity {
        Activity {
            phase: Mutex::new(Phase {
                accepted_at: now,
                in_flight: 0,
                served: false,
                http2: false,
                idle_since: now,
                head_since: None,
                write_stalled_since: None,
            }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // Every update leaves the phase consistent, so a panic elsewhere cannot corrupt it.
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bytes_read(&self) {
        let mut phase = self.phase();
        if phase.in_flight == 0 && phase.served && phase.head_since.is_none() {
            phase.head_since = Some(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn request_started(self: &Arc<Self>, version: Version) -> InFlight {
        let mut phase = self.phase();
        phase.in_flight += 1;
        phase.served = true;
        phase.head_since = None;
        phase.http2 |= version == Version::HTTP_2;
        // No wake-up needed: the deadline only moved later, and the watchdog re-reads the phase
        // when its old deadline passes.
        InFlight(self.clone())
    }

    fn write_stalled(&self, stalled: bool) {
        let mut phase = self.phase();
        if stalled {
            phase.write_stalled_since = Some(Instant::now());
            drop(phase);
            self.changed.notify_one();
        } else {
            phase.write_stalled_since = None;
        }
    }

    /// Resolves once the connection has waited on its client past a deadline.
    async fn expired(&self, limits: &Limits) {
        loop {
            // `notify_one` keeps a permit when nobody waits, so a change between reading the
            // phase and waiting is not lost.
            let changed = self.changed.notified();
            let deadline = self.phase().deadline(limits);
            match deadline {
                Some(at) if at <= Instant::now() => return,
                Some(at) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = changed => {}
                },
                None => changed.await,
            }
        }
    }
}

/// A request in flight; dropped with its response body (or with the request, if the connection
/// goes away first).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        phase.in_flight = phase.in_flight.saturating_sub(1);
        if phase.in_flight == 0 {
            phase.idle_since = Instant::now();
            phase.head_since = None;
            drop(phase);
            self.0.changed.notify_one();
        }
    }
}

/// The client socket, telling the watchdog when bytes arrive and when writes stall.
struct WatchedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    write_stalled: bool,
}

impl WatchedIo {
    fn note_write<T>(&mut self, polled: &Poll<T>) {
        let stalled = polled.is_pending();
        if stalled != self.write_stalled {
            self.write_stalled = stalled;
            self.activity.write_stalled(stalled);
        }
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.note_write(&polled);
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.note_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The router as hyper's per-connection service, marking requests in flight and bounding how
/// long their bodies may take.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    activity: Arc<Activity>,
    body_read_timeout: Duration,
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started(request.version());
        let deadline = Instant::now() + self.body_read_timeout;
        let request = request.map(|body| TimedBody {
            body,
            deadline,
            timer: None,
            timeout: self.body_read_timeout,
        });
        let response = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that keeps its request counted as in flight until hyper drops it.
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails once its deadline passes, so a client trickling a body cannot hold
/// a handler (and its connection) for longer than `server.body_read_timeout_secs`.
struct TimedBody {
    body: Incoming,
    deadline: Instant,
    /// Made on the first wait, so bodies that arrive at once never touch the timer.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyTimeout(Duration);

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_ready() {
                    tracing::debug!(timeout = ?this.timeout, "request body timed out");
                    return Poll::Ready(Some(Err(BodyTimeout(this.timeout).into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        let server = crate::config::Server::default();
        assert_eq!(Limits::new(&server, None, 300).max_connections, 1024);
        assert_eq!(
            Limits::new(&server, Some(1 << 20), 300).max_connections,
            1024
        );
        assert_eq!(Limits::new(&server, Some(1024), 300).max_connections, 724);
        assert_eq!(Limits::new(&server, Some(100), 300).max_connections, 1);
        let limits = Limits::new(&server, None, 0);
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
    }

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

    #[test]
    fn deadlines_follow_the_connection_phase() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let limits = limits();
        let fresh = Activity::new(t0).phase().clone();
        // Nothing sent yet: the header timeout, counted from the accept.
        assert_eq!(fresh.deadline(&limits), Some(t0 + s(10)));
        let busy = Phase {
            in_flight: 1,
            served: true,
            ..fresh.clone()
        };
        assert_eq!(busy.deadline(&limits), None);
        let idle = Phase {
            served: true,
            idle_since: t0 + s(5),
            ..fresh.clone()
        };
        assert_eq!(idle.deadline(&limits), Some(t0 + s(65)));
        let next_head = Phase {
            head_since: Some(t0 + s(20)),
            ..idle.clone()
        };
        assert_eq!(next_head.deadline(&limits), Some(t0 + s(30)));
        let h2 = Phase {
            http2: true,
            ..next_head.clone()
        };
        assert_eq!(h2.deadline(&limits), Some(t0 + s(65)));
        let stalled = Phase {
            write_stalled_since: Some(t0 + s(1)),
            ..busy
        };
        assert_eq!(stalled.deadline(&limits), Some(t0 + s(61)));
    }
}
