//! Each connection's watchdog: whether a request is in flight and since when the connection has
//! waited on its client, hence when it should be closed.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Version;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::limits::Limits;

/// What one connection's watchdog needs to know: whether a request is in flight, and since when
/// the connection has been waiting on its client.
pub(super) struct Activity {
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
    pub(super) fn new(now: Instant) -> Activity {
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

    pub(super) fn bytes_read(&self) {
        let mut phase = self.phase();
        if phase.in_flight == 0 && phase.served && phase.head_since.is_none() {
            phase.head_since = Some(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    pub(super) fn request_started(self: &Arc<Self>, version: Version) -> InFlight {
        let mut phase = self.phase();
        phase.in_flight += 1;
        phase.served = true;
        phase.head_since = None;
        phase.http2 |= version == Version::HTTP_2;
        // No wake-up needed: the deadline only moved later, and the watchdog re-reads the phase
        // when its old deadline passes.
        InFlight(self.clone())
    }

    pub(super) fn write_stalled(&self, stalled: bool) {
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
    pub(super) async fn expired(&self, limits: &Limits) {
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
pub(super) struct InFlight(Arc<Activity>);

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
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
