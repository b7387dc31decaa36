//! The store's decisions, in plain Rust above the SQL: a backend reads what a decision needs
//! (under its own locks), asks here, and writes what the answer says. So SQLite and PostgreSQL
//! cannot drift apart on who may spend what, which videos a delete takes, when a render gives up
//! or what a callback does next.

use super::{
    rows, BlobDeletion, DeleteOutcome, FaultStep, StoreError, StoreResult, WebhookOutcome,
};
use crate::domain::{ObjectId, VideoStatus};

/// The balance after adding `change` (negative to spend); refused when it would go below zero.
pub(super) fn balance_after(balance: i64, change: i64) -> StoreResult<i64> {
    if balance + change < 0 {
        return Err(StoreError::InsufficientCredits {
            balance,
            needed: -change,
        });
    }
    Ok(balance + change)
}

/// What becomes of a claimed video whose render ended without an output.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LeaseEnd {
    /// Back to status 1, to be claimed again.
    Requeue,
    /// Status 4 with this reason, and its credits refunded.
    Fail(String),
}

/// `retry_later`: a passing fault sends the video back to the queue until it has had
/// `max_attempts` claims.
pub(super) fn after_passing_fault(attempts: i64, max_attempts: i64, reason: &str) -> LeaseEnd {
    if attempts >= max_attempts {
        LeaseEnd::Fail(format!("gave up after {attempts} attempts: {reason}"))
    } else {
        LeaseEnd::Requeue
    }
}

/// `reap_expired`: a lease that ran out (its worker died or hung) counts as a used attempt.
pub(super) fn after_expired_lease(attempts: i64, max_attempts: i64) -> LeaseEnd {
    if attempts >= max_attempts {
        LeaseEnd::Fail(format!(
            "rendering did not finish after {attempts} attempts"
        ))
    } else {
        LeaseEnd::Requeue
    }
}

/// One of the caller's videos among the ids of a delete, as the backend read it (locked), from
/// `SELECT _id, status, blob_key`.
#[derive(sqlx::FromRow)]
pub(super) struct DeleteCandidate {
    #[sqlx(rename = "_id")]
    pub id: String,
    pub status: i64,
    pub blob_key: Option<String>,
}

/// What a delete does with the candidates (DESIGN §4 step 2): a processing video is never deleted
/// (invariant 3) and is reported instead; every other one goes, with its output file.
#[derive(Default)]
pub(super) struct DeletePlan {
    /// `_id`s to delete.
    pub doomed: Vec<String>,
    /// Their output files, to stage in the deletion outbox.
    pub files: Vec<String>,
    pub processing: Vec<ObjectId>,
}

impl DeletePlan {
    pub fn of(candidates: Vec<DeleteCandidate>) -> StoreResult<DeletePlan> {
        let mut plan = DeletePlan::default();
        for c in candidates {
            if c.status == VideoStatus::Processing.code() {
                plan.processing.push(rows::object_id(&c.id)?);
            } else {
                plan.files.extend(c.blob_key);
                plan.doomed.push(c.id);
            }
        }
        Ok(plan)
    }

    /// The answer, in the order of the request's `ids`, once the plan is carried out and its
    /// files are staged as `files`.
    pub fn outcome(self, ids: &[ObjectId], files: Vec<BlobDeletion>) -> StoreResult<DeleteOutcome> {
        let deleted = self
            .doomed
            .iter()
            .map(|id| rows::object_id(id))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(DeleteOutcome {
            deleted: rows::in_request_order(ids, deleted, |id| *id),
            processing: rows::in_request_order(ids, self.processing, |id| *id),
            files,
        })
    }
}

/// A delivery's row after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DeliveryUpdate {
    pub state: &'static str,
    /// `None` keeps the current one.
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    /// Set once the delivery is settled (anything but pending).
    pub finished_at: Option<i64>,
}

/// Where an attempt made at `at` (failing with `error`, if it did) leaves its delivery.
pub(super) fn after_attempt(
    outcome: WebhookOutcome,
    at: i64,
    error: Option<String>,
) -> DeliveryUpdate {
    let settled = |state, last_error| DeliveryUpdate {
        state,
        next_attempt_at: None,
        last_error,
        finished_at: Some(at),
    };
    match outcome {
        WebhookOutcome::Delivered => settled("delivered", None),
        WebhookOutcome::Skipped => settled("skipped", None),
        WebhookOutcome::GiveUp(reason) => settled("failed", Some(reason)),
        WebhookOutcome::Retry(next) => DeliveryUpdate {
            state: "pending",
            next_attempt_at: Some(next),
            last_error: error,
            finished_at: None,
        },
    }
}

/// A delivery's row once its webhook fault is decided.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FaultUpdate {
    pub state: &'static str,
    /// `None` keeps the current one.
    pub next_attempt_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Whether the claim's lease ends (kept while the delivery is being sent now).
    pub release_lease: bool,
}

/// Where deciding fault `step` at `at` leaves a delivery.
pub(super) fn after_fault(step: FaultStep, at: i64) -> FaultUpdate {
    let update = |state, next_attempt_at, finished_at| FaultUpdate {
        state,
        next_attempt_at,
        finished_at,
        release_lease: true,
    };
    match step {
        FaultStep::Send => FaultUpdate {
            release_lease: false,
            ..update("pending", None, None)
        },
        FaultStep::Postpone(until) => update("pending", Some(until), None),
        FaultStep::Hold => update("held", None, None),
        FaultStep::Drop => update("dropped", None, Some(at)),
    }
}

/// A `LIKE ... ESCAPE '\'` pattern matching lower-cased text that contains `text` (lower-cased,
/// its `%`, `_` and `\` taken literally).
pub(super) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_the_search_are_literal() {
        assert_eq!(contains_pattern("Sunset"), "%sunset%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }

    #[test]
    fn a_balance_never_goes_below_zero() {
        assert_eq!(balance_after(10, -10).unwrap(), 0);
        assert_eq!(balance_after(10, 5).unwrap(), 15);
        match balance_after(10, -11) {
            Err(StoreError::InsufficientCredits { balance, needed }) => {
                assert_eq!((balance, needed), (10, 11))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn renders_give_up_after_max_attempts() {
        assert_eq!(after_passing_fault(2, 3, "503"), LeaseEnd::Requeue);
        assert_eq!(
            after_passing_fault(3, 3, "503"),
            LeaseEnd::Fail("gave up after 3 attempts: 503".into())
        );
        assert_eq!(after_expired_lease(1, 2), LeaseEnd::Requeue);
        assert_eq!(
            after_expired_lease(2, 2),
            LeaseEnd::Fail("rendering did not finish after 2 attempts".into())
        );
    }

    #[test]
    fn a_delete_spares_processing_videos_and_answers_in_request_order() {
        let [a, b, c] = [1, 2, 3].map(ObjectId::generate);
        let candidates = vec![
            DeleteCandidate {
                id: a.to_hex(),
                status: 3,
                blob_key: Some("videos/a.mp4".into()),
            },
            DeleteCandidate {
                id: b.to_hex(),
                status: 2,
                blob_key: None,
            },
            DeleteCandidate {
                id: c.to_hex(),
                status: 1,
                blob_key: None,
            },
        ];
        let plan = DeletePlan::of(candidates).unwrap();
        assert_eq!(plan.doomed, vec![a.to_hex(), c.to_hex()]);
        assert_eq!(plan.files, vec!["videos/a.mp4".to_owned()]);
        let outcome = plan.outcome(&[c, b, a], Vec::new()).unwrap();
        assert_eq!(outcome.deleted, vec![c, a]);
        assert_eq!(outcome.processing, vec![b]);
    }

    #[test]
    fn a_retry_stays_pending_and_everything_else_settles() {
        let retry = after_attempt(WebhookOutcome::Retry(50), 10, Some("HTTP 500".into()));
        assert_eq!(retry.state, "pending");
        assert_eq!(retry.next_attempt_at, Some(50));
        assert_eq!(retry.last_error.as_deref(), Some("HTTP 500"));
        assert_eq!(retry.finished_at, None);
        let gave_up = after_attempt(WebhookOutcome::GiveUp("no".into()), 10, None);
        assert_eq!(
            (
                gave_up.state,
                gave_up.finished_at,
                gave_up.last_error.as_deref()
            ),
            ("failed", Some(10), Some("no"))
        );
        let delivered = after_attempt(WebhookOutcome::Delivered, 10, Some("ignored".into()));
        assert_eq!((delivered.state, delivered.last_error), ("delivered", None));
        assert_eq!(
            after_attempt(WebhookOutcome::Skipped, 10, None).state,
            "skipped"
        );
    }

    #[test]
    fn a_fault_keeps_the_lease_only_when_sent_now() {
        assert!(!after_fault(FaultStep::Send, 10).release_lease);
        let later = after_fault(FaultStep::Postpone(99), 10);
        assert_eq!((later.state, later.next_attempt_at), ("pending", Some(99)));
        assert_eq!(after_fault(FaultStep::Hold, 10).state, "held");
        let dropped = after_fault(FaultStep::Drop, 10);
        assert_eq!((dropped.state, dropped.finished_at), ("dropped", Some(10)));
    }
}
