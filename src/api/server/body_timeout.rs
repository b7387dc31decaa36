//! The request body under a deadline, so a client trickling a body is cut off.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::Instant;

/// A request body that fails once its deadline passes, so a client trickling a body cannot hold
/// a handler (and its connection) for longer than `server.body_read_timeout_secs`.
pub(super) struct TimedBody {
    pub(super) body: Incoming,
    pub(super) deadline: Instant,
    /// Made on the first wait, so bodies that arrive at once never touch the timer.
    pub(super) timer: Option<Pin<Box<tokio::time::Sleep>>>,
    pub(super) timeout: Duration,
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
