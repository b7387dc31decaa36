//! One client connection: hyper serving the router, closed by the watchdog when the client is
//! too slow or idle too long, drained on shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::body_timeout::TimedBody;
use super::limits::Limits;
use super::watchdog::{Activity, InFlight};
use super::watched_io::WatchedIo;

pub(super) async fn serve_connection(
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

/// Put in a response's extensions, it makes the connection close with no answer sent (fault
/// injection, admin API): hyper drops a connection whose service fails, before writing anything.
/// On HTTP/2 only that request's stream is reset.
#[derive(Clone, Copy, Debug)]
pub struct CloseWithoutAnswer;

#[derive(Debug, thiserror::Error)]
#[error("closed without an answer on purpose (fault injection)")]
struct ClosedOnPurpose;

/// The router as hyper's per-connection service, marking requests in flight and bounding how
/// long their bodies may take.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    activity: Arc<Activity>,
    body_read_timeout: Duration,
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<Response<TrackedBody>, ClosedOnPurpose>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = ClosedOnPurpose;
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
            let Ok(response) = response.await;
            if response.extensions().get::<CloseWithoutAnswer>().is_some() {
                return Err(ClosedOnPurpose);
            }
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
