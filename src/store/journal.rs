//! The request journal (admin API): every request to an Akool route, as the client sent it and as
//! it was answered, secrets already redacted by the caller. Bounded per account: appending drops
//! the oldest entries of each account beyond the limit (entries with no account are one group).

use async_trait::async_trait;

use super::StoreResult;

/// One journaled request. Bodies are the bytes as text (JSON when the client sent JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// Assigned by the store in append order (ignored when appending).
    pub id: i64,
    /// On the account's clock (the server's when `uid` is `None`).
    pub at_ms: i64,
    /// `None` when the credentials were unknown.
    pub uid: Option<i64>,
    pub method: String,
    pub path: String,
    /// The raw query string without `?`; empty when there was none.
    pub query: String,
    pub request_body: String,
    /// HTTP status of the answer; `None` when no answer was made (`drop: before`).
    pub status: Option<i64>,
    /// Akool's `code` of the answer, when it had one.
    pub code: Option<i64>,
    pub response_body: String,
    pub latency_ms: i64,
    /// The fault effect applied to this request, as JSON text.
    pub fault: Option<String>,
}

/// Which entries `requests` reads; every field narrows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JournalFilter {
    pub uid: Option<i64>,
    pub path: Option<String>,
    pub code: Option<i64>,
    /// Only entries with a greater id.
    pub since_id: Option<i64>,
    pub limit: i64,
}

#[async_trait]
pub trait RequestJournal: Send + Sync + 'static {
    /// Appends `entries` in order, in one transaction, then drops each touched group's oldest
    /// entries beyond `max_per_account`.
    async fn append_requests(
        &self,
        entries: &[JournalEntry],
        max_per_account: i64,
    ) -> StoreResult<()>;
    /// Matching entries, newest first, at most `filter.limit`.
    async fn requests(&self, filter: &JournalFilter) -> StoreResult<Vec<JournalEntry>>;
    /// Removes one account's entries (`Some`) or every entry; returns how many.
    async fn clear_requests(&self, uid: Option<i64>) -> StoreResult<u64>;
}
