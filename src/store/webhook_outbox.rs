//! The callback outbox (DESIGN §7). Its rows are written by the status changes of `Videos` and
//! `RenderQueue`, in the transaction of the change; this is how the delivery loop works them off.

use async_trait::async_trait;

use super::{FaultStep, StoreResult, WebhookAttempt, WebhookDelivery, WebhookOutcome};

#[async_trait]
pub trait WebhookOutbox: Send + Sync + 'static {
    /// Claims up to `limit` due deliveries for sending until `lease_until`; a delivery waits while
    /// an older one for the same video is still pending, so callbacks arrive in order (a held one
    /// does not block). Each says whether its account has webhook fault rules.
    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// The account's clientId and sealed secret (webhook encryption keys).
    async fn webhook_credentials(&self, uid: i64) -> StoreResult<Option<(String, String)>>;
    /// Logs one attempt and moves the delivery on; once a final callback (3 or 4) settles, its
    /// video's held callbacks become due.
    async fn finish_webhook_attempt(
        &self,
        id: i64,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> StoreResult<()>;
    /// Logs one attempt without moving the delivery on (the first of a duplicated callback).
    async fn log_webhook_attempt(&self, id: i64, attempt: WebhookAttempt) -> StoreResult<()>;
    /// Records the webhook fault decided for a pending delivery (`fault`: the effect's JSON) and
    /// what it does before sending (`step`). A video's held callbacks become due when its final
    /// one settles, whether sent, given up or dropped.
    async fn fault_webhook(
        &self,
        id: i64,
        fault: &str,
        step: FaultStep,
        now: i64,
    ) -> StoreResult<()>;
    /// Deliveries (newest first), optionally of one video, each with its attempts.
    async fn webhook_deliveries(
        &self,
        video_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(WebhookDelivery, Vec<WebhookAttempt>)>>;
    /// Makes a delivery pending again, due now. False when there is no such delivery.
    async fn redeliver_webhook(&self, id: i64, now: i64) -> StoreResult<bool>;
}
