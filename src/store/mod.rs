//! Persistent state behind one trait, so SQLite (embedded default) and PostgreSQL (scale-out)
//! are interchangeable. Every method is a whole use-case done in one transaction; callers never
//! hold a transaction across the trait. `tests/api/store_suite.rs` is the conformance suite that
//! every backend must pass unchanged.

mod postgres;
mod rows;
mod sqlite;
mod types;

use async_trait::async_trait;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::*;

/// The `videos` columns a video is kept in (`migrate-store` must copy each).
#[cfg(test)]
pub(crate) use rows::VIDEO_COLUMNS;

use crate::domain::ObjectId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("insufficient credits: balance {balance}, needed {needed}")]
    InsufficientCredits { balance: i64, needed: i64 },
    #[error("no account with uid {0}")]
    NoSuchAccount(i64),
    #[error("store backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which store a database URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Opens the store `url` names, bringing its schema up to date.
pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<std::sync::Arc<dyn Store>> {
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => Ok(std::sync::Arc::new(SqliteStore::open(url, pool).await?)),
        Some(Backend::Postgres) => Ok(std::sync::Arc::new(PgStore::open(url, pool).await?)),
        None => Err(StoreError::Backend(
            format!(
                "unsupported database URL scheme in {}",
                crate::config::redact_url_password(url)
            )
            .into(),
        )),
    }
}

/// Everything i2v keeps. Times are Unix epoch milliseconds, passed in by the caller so that
/// tests control the clock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the backend answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    // --- accounts and credentials ---
    async fn create_account(&self, new: NewAccount) -> StoreResult<Account>;
    async fn account(&self, uid: i64) -> StoreResult<Option<Account>>;
    async fn auth_by_key_hash(&self, secret_hash: &str) -> StoreResult<Option<AuthRecord>>;
    async fn auth_by_client_id(&self, client_id: &str) -> StoreResult<Option<AuthRecord>>;
    async fn auth_by_uid(&self, uid: i64) -> StoreResult<Option<AuthRecord>>;
    /// Returns false when no such account exists.
    async fn set_banned(&self, uid: i64, banned: bool) -> StoreResult<bool>;
    /// Adds (or with a negative amount, removes) credits with a ledger row; the balance may not
    /// go below zero. Returns the new balance.
    async fn adjust_credits(
        &self,
        uid: i64,
        amount: i64,
        reason: &str,
        now: i64,
    ) -> StoreResult<i64>;
    /// Replaces the account's secret; tokens and keys derived from the old one stop working.
    async fn rotate_secret(
        &self,
        uid: i64,
        secret_hash: &str,
        sealed_secret: &str,
    ) -> StoreResult<bool>;
    /// Sum of the account's ledger rows; equals the balance unless something is broken.
    async fn ledger_sum(&self, uid: i64) -> StoreResult<i64>;

    // --- videos ---
    /// Charges `sum(deduction_credit)` and inserts the videos (status 1), all or nothing.
    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()>;
    /// The caller's videos among `ids`, in the order of `ids`; others are left out.
    async fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>>;
    /// DESIGN §4 step 2: in one transaction delete the caller's videos among `ids` that are not
    /// processing, stage their files in the deletion outbox, and report which of the remaining ids
    /// are the caller's processing videos.
    async fn delete_videos(
        &self,
        uid: i64,
        ids: &[ObjectId],
        now: i64,
    ) -> StoreResult<DeleteOutcome>;
    /// Whether this store can run several delete requests in one transaction
    /// (`delete_group`). When it cannot, callers gain nothing by queueing deletes into groups and
    /// should call `delete_videos` directly (concurrently).
    fn groups_deletes(&self) -> bool {
        false
    }
    /// All of `requests` in one transaction, applied in order, each seeing the ones before it;
    /// an error means nothing of it was applied. Only called when `groups_deletes` is true.
    async fn delete_group(
        &self,
        requests: &[DeleteRequest],
        now: i64,
    ) -> StoreResult<Vec<DeleteOutcome>> {
        let _ = (requests, now);
        Err(StoreError::Backend(
            "this store does not group deletes".into(),
        ))
    }
    /// Several `delete_videos` requests, each answered exactly as `delete_videos` would answer it
    /// had they run one after another (group commit): one shared transaction when the store
    /// groups, so one durable commit serves many requests; if that fails, or the store does not
    /// group, each request runs in its own transaction, one after another (running them
    /// concurrently would let a later request take an id that an earlier one should report).
    async fn delete_videos_grouped(
        &self,
        requests: &[DeleteRequest],
        now: i64,
    ) -> Vec<StoreResult<DeleteOutcome>> {
        if self.groups_deletes() && requests.len() > 1 {
            match self.delete_group(requests, now).await {
                Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
                // Nothing of the group was applied: each request gets its own transaction, so
                // one request's failure is never another's.
                Err(e) => tracing::warn!(error = %e, "grouped delete failed; retrying one by one"),
            }
        }
        let mut outcomes = Vec::with_capacity(requests.len());
        for r in requests {
            outcomes.push(self.delete_videos(r.uid, &r.ids, now).await);
        }
        outcomes
    }
    /// The output file of a completed video (whoever owns it); `None` for anything else.
    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>>;
    /// Operator control of a video's status (see `ForcedStatus`). `None` when no such video.
    async fn force_status(
        &self,
        id: ObjectId,
        to: ForcedStatus,
        now: i64,
    ) -> StoreResult<Option<Video>>;

    // --- render queue (the video row is the job) ---
    /// How many videos are queued (1) and processing (2) right now.
    async fn queue_depth(&self) -> StoreResult<(i64, i64)>;
    /// Claims a queued video whose `run_after` has passed (status 1 -> 2 with a lease), fairly
    /// across accounts: from the account with the fewest videos processing right now, oldest
    /// first, skipping accounts that already have `max_in_flight_per_account` processing. So one
    /// account's backlog or retries never queue ahead of another account's first video.
    async fn claim_next_within(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        max_in_flight_per_account: i64,
    ) -> StoreResult<Option<Video>>;
    /// `claim_next_within` with no per-account limit.
    async fn claim_next(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<Option<Video>> {
        self.claim_next_within(owner, now, lease_until, i64::MAX)
            .await
    }
    /// Extends a lease; false when the lease is no longer ours.
    async fn heartbeat(&self, id: ObjectId, owner: &str, lease_until: i64) -> StoreResult<bool>;
    /// Finishes a render while holding the lease and takes the staged output file (`blob_key`)
    /// out of the deletion outbox in the same transaction. False when the lease was lost: nothing
    /// is written and the staged file stays scheduled for removal.
    async fn complete(&self, done: Completion, now: i64) -> StoreResult<bool>;
    /// Fails a render while holding the lease and refunds its credits.
    async fn fail(&self, id: ObjectId, owner: &str, reason: &str, now: i64) -> StoreResult<bool>;
    /// After a passing fault: back to the queue, claimable from `run_after`, or failed with
    /// refund when it has had `max_attempts` claims. False when the lease is not ours.
    async fn retry_later(
        &self,
        id: ObjectId,
        owner: &str,
        run_after: i64,
        reason: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<bool>;
    /// Hands a claimed video back to the queue (graceful shutdown); false when not ours.
    async fn release(&self, id: ObjectId, owner: &str, now: i64) -> StoreResult<bool>;
    /// Returns expired leases to the queue, or fails (with refund) those out of attempts.
    async fn reap_expired(&self, now: i64, max_attempts: i64) -> StoreResult<u64>;

    /// Retention: forgets the output of up to `limit` videos completed before `completed_before`
    /// (their files go to the deletion outbox; the records stay, without `video_url`).
    async fn expire_outputs(&self, completed_before: i64, now: i64, limit: i64)
        -> StoreResult<u64>;

    // --- webhook outbox (rows are written by the status changes above) ---
    /// Claims up to `limit` due deliveries for sending until `lease_until`; a delivery waits while
    /// an older one for the same video is still pending, so callbacks arrive in order.
    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// The account's clientId and sealed secret (webhook encryption keys).
    async fn webhook_credentials(&self, uid: i64) -> StoreResult<Option<(String, String)>>;
    /// Logs one attempt and moves the delivery on.
    async fn finish_webhook_attempt(
        &self,
        id: i64,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> StoreResult<()>;
    /// Deliveries (newest first), optionally of one video, each with its attempts.
    async fn webhook_deliveries(
        &self,
        video_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(WebhookDelivery, Vec<WebhookAttempt>)>>;
    /// Makes a delivery pending again, due now. False when there is no such delivery.
    async fn redeliver_webhook(&self, id: i64, now: i64) -> StoreResult<bool>;

    // --- file-deletion outbox ---
    /// Records that `blob_key` must be removed at or after `not_before` unless a completion takes
    /// it back. Workers call this before uploading, so a crash never leaves an unowned file.
    async fn stage_blob(&self, blob_key: &str, not_before: i64) -> StoreResult<()>;
    async fn due_blob_deletions(&self, now: i64, limit: i64) -> StoreResult<Vec<BlobDeletion>>;
    async fn finish_blob_deletion(&self, id: i64) -> StoreResult<()>;
    async fn retry_blob_deletion(&self, id: i64, error: &str, next_attempt: i64)
        -> StoreResult<()>;
}
