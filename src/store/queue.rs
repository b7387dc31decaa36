//! The render queue (DESIGN §5). The video row is the job: status 1 is queued, status 2 is
//! claimed, with a lease owner and expiry that fence every write a worker makes.

use async_trait::async_trait;

use super::{Completion, StoreResult};
use crate::domain::ObjectId;
use crate::domain::Video;

#[async_trait]
pub trait RenderQueue: Send + Sync + 'static {
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
}
