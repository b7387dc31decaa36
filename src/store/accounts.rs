//! Accounts, their credentials and their credits.

use async_trait::async_trait;

use super::{Account, AuthRecord, LedgerEntry, NewAccount, StoreResult};

#[async_trait]
pub trait Accounts: Send + Sync + 'static {
    async fn create_account(&self, new: NewAccount) -> StoreResult<Account>;
    async fn account(&self, uid: i64) -> StoreResult<Option<Account>>;
    /// Up to `limit` accounts with a uid above `after`, in uid order (the admin console).
    async fn accounts_after(&self, after: i64, limit: i64) -> StoreResult<Vec<Account>>;
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
    /// The account's newest `limit` ledger rows, newest first.
    async fn ledger(&self, uid: i64, limit: i64) -> StoreResult<Vec<LedgerEntry>>;
}
