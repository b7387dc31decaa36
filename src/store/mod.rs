//! Persistent state, cut by capability: `Accounts` (accounts, credentials, credits),
//! `Videos` (create, read, delete, operator control, retention), `RenderQueue` (the video row is
//! the job), `WebhookOutbox`, `FileOutbox`, `Emulation` (the admin API's test controls), `Faults` and `RequestJournal`
//! (the admin API's fault rules and request journal). `Store` is all of them, so `Arc<dyn Store>` serves
//! the app while code that needs one capability may name only that one.
//!
//! SQLite (embedded default, `sqlite/`) and PostgreSQL (scale-out, `postgres/`) are
//! interchangeable. Every method is a whole use-case done in one transaction; callers never hold a
//! transaction across a trait. What the backends share is written once: the decisions
//! (`policy`), the SQL text both dialects accept (`sql`), the reading of rows (`rows`) and the
//! execution both run word for word (`common`, one macro per capability); each backend folder
//! holds only what its engine does differently (locks, uid allocation, group commit, dialect).
//! `tests/api/store_suite.rs` is the conformance suite every backend must pass unchanged.

mod accounts;
mod common;
mod emulation;
mod faults;
mod file_outbox;
mod journal;
mod journal_body;
pub(crate) mod migrate;
mod policy;
mod postgres;
mod queue;
mod rows;
mod sql;
mod sqlite;
mod types;
mod videos;
mod webhook_outbox;

use async_trait::async_trait;

pub use accounts::Accounts;
pub use emulation::{
    Emulation, EmulationState, ResetReport, ScriptStep, ScriptedVideo, TakeOver, EMULATOR_OWNER,
    SCRIPTED_RUN_AFTER,
};
pub use faults::{FaultKind, Faults};
pub use file_outbox::FileOutbox;
pub use journal::{JournalEntry, JournalFilter, RequestJournal};
pub use postgres::PgStore;
pub use queue::RenderQueue;
pub use sqlite::SqliteStore;
pub use types::*;
pub use videos::Videos;
pub use webhook_outbox::WebhookOutbox;

/// The `videos` columns a video is kept in (`migrate-store` must copy each).
#[cfg(test)]
pub(crate) use rows::VIDEO_COLUMNS;

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

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// Which store a database URL selects (plain data, kept with the configuration that checks it).
pub use crate::config::Backend;

/// Opens the store `url` names, bringing its schema up to date.
pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<std::sync::Arc<dyn Store>> {
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => Ok(std::sync::Arc::new(SqliteStore::open(url, pool).await?)),
        Some(Backend::Postgres) => Ok(std::sync::Arc::new(PgStore::open(url, pool).await?)),
        None => Err(StoreError::Backend(
            format!(
                "unsupported database URL scheme in {}",
                crate::redact::redact_url_password(url)
            )
            .into(),
        )),
    }
}

/// Everything i2v keeps: every capability of one backend. Times are Unix epoch milliseconds,
/// passed in by the caller so that tests control the clock.
#[async_trait]
pub trait Store:
    Accounts + Videos + RenderQueue + WebhookOutbox + FileOutbox + Emulation + Faults + RequestJournal
{
    /// Succeeds when the backend answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;
}
