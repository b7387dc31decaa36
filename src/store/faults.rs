//! Fault rules an operator sets per account (admin API), kept as the domain's `FaultSet` in its
//! stored JSON form, one set per kind. Taking a fault reads, advances and writes the set back in
//! one transaction under the account's row lock, so `next` counts and seeded draws stay exact
//! when several processes serve the account.

use async_trait::async_trait;

use super::StoreResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Rules for the Akool routes (`accounts.api_faults`).
    Api,
    /// Rules for the account's callbacks (`accounts.webhook_faults`).
    Webhook,
}

#[async_trait]
pub trait Faults: Send + Sync + 'static {
    /// The account's set of `kind` (stored JSON); `None` when there is no such account,
    /// `Some(None)` when it has no rules.
    async fn faults(&self, uid: i64, kind: FaultKind) -> StoreResult<Option<Option<String>>>;
    /// Replaces (`Some`) or removes (`None`) the set. False when there is no such account.
    async fn set_faults(&self, uid: i64, kind: FaultKind, set: Option<&str>) -> StoreResult<bool>;
    /// The effect (stored JSON value) for one request or callback about `subject`, the set's
    /// counters and draws advanced (`FaultSet::take`); `None` when no rule fires or there is no
    /// set.
    async fn take_fault(
        &self,
        uid: i64,
        kind: FaultKind,
        subject: &str,
    ) -> StoreResult<Option<serde_json::Value>>;
}
