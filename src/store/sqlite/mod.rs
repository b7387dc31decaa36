//! The embedded default store: one SQLite file in WAL mode.
//!
//! Every write use-case runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's single
//! write lock up front; so check-and-delete, claim and completion are serialized and cannot
//! interleave. Lists of ids travel as one JSON array parameter (`json_each`) so that every
//! statement is static SQL. `synchronous = FULL`: an answered delete survives power loss too,
//! and concurrent deletes, and concurrent creates, share commits (`group_commit`).

mod accounts;
mod delete;
mod group_commit;
pub mod journal;
mod readers;
#[cfg(test)]
mod test_store;
mod tx;
mod videos;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use super::{common, PoolSettings, Store, StoreError, StoreResult};
use crate::domain::ObjectId;
use group_commit::GroupCommit;
use readers::Readers;

type Tx = Transaction<'static, Sqlite>;

pub struct SqliteStore {
    pool: SqlitePool,
    /// The request journal's own file (`journal`).
    journal: SqlitePool,
    /// Where `delete_videos` goes; `None` runs each call in its own transaction.
    deletes: Option<GroupCommit<group_commit::Deletes>>,
    /// Where charged creates (`create_planned`, and `create_videos` through it) go; `None` runs
    /// each call in its own transaction.
    creates: Option<GroupCommit<group_commit::Creates>>,
    /// Polls' reads, off sqlx (`readers`); `None` for an in-memory database, which only the
    /// sqlx pool's connections can see.
    readers: Option<Readers>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<Self> {
        Self::open_with(url, pool, true).await
    }

    /// Like `open`, but every `delete_videos` call commits alone: the reference the HTTP
    /// benchmark measures group commit against.
    pub async fn open_without_group_commit(url: &str, pool: &PoolSettings) -> StoreResult<Self> {
        Self::open_with(url, pool, false).await
    }

    async fn open_with(url: &str, pool: &PoolSettings, group_commit: bool) -> StoreResult<Self> {
        // The journal first: it takes over an older main file's entries before the main
        // migrations drop their table.
        let journal = journal::connect(url).await?;
        let pool = connect(url, pool).await?;
        let deletes = group_commit.then(|| GroupCommit::start(group_commit::Deletes(pool.clone())));
        let creates = group_commit.then(|| GroupCommit::start(group_commit::Creates(pool.clone())));
        let readers = file_of(url)?.map(|path| Readers::new(&path));
        Ok(SqliteStore {
            pool,
            journal,
            deletes,
            creates,
            readers,
        })
    }

    /// `read`'s answer on the read path; `None` (no read path, or it failed) leaves the read to
    /// sqlx.
    fn on_read_path<T>(&self, read: impl FnOnce(&Readers) -> StoreResult<T>) -> Option<T> {
        let readers = self.readers.as_ref()?;
        read(readers)
            .inspect_err(|e| tracing::debug!("read path failed, reading through sqlx: {e}"))
            .ok()
    }

    /// Whether `uid` has videos scripted to move on polls: asked on every poll of an unfinished
    /// video, so it takes the read path.
    async fn has_polled_scripts(&self, uid: i64) -> StoreResult<bool> {
        match self.on_read_path(|readers| readers.has_polled_scripts(uid)) {
            Some(polled) => Ok(polled),
            None => self.polled_scripts_in_pool(uid).await,
        }
    }

    /// `Emulation::create_planned`, through the create group when there is one.
    async fn create_planned_grouped(
        &self,
        uid: i64,
        videos: Vec<crate::domain::Video>,
        lifecycle: &crate::domain::emulation::Lifecycle,
        now: i64,
    ) -> StoreResult<Vec<Option<crate::domain::emulation::Script>>> {
        match &self.creates {
            Some(group) => {
                let lifecycle = lifecycle.clone();
                let request = group_commit::CreateRequest {
                    uid,
                    videos,
                    lifecycle,
                    now,
                };
                group.submit(request).await
            }
            None => self.create_planned_alone(uid, videos, lifecycle, now).await,
        }
    }

    async fn write_tx(&self) -> StoreResult<Tx> {
        write_tx(&self.pool).await
    }

    async fn journal_tx(&self) -> StoreResult<Tx> {
        write_tx(&self.journal).await
    }
}

async fn connect(url: &str, pool: &PoolSettings) -> StoreResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    // Writers queue on SQLite's one write lock; more connections let readers and the next
    // writer's statement preparation proceed meanwhile.
    let pool = SqlitePoolOptions::new()
        .max_connections(pool.max_connections)
        .min_connections(pool.min_connections)
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// The file the database at `url` lives in; `None` for an in-memory database.
pub(super) fn file_of(url: &str) -> StoreResult<Option<PathBuf>> {
    let options = SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename();
    // sqlx names an in-memory database `file:sqlx-in-memory-<n>` (or keeps `:memory:`).
    let name = path.to_string_lossy();
    let in_memory = name.is_empty()
        || name == ":memory:"
        || name.starts_with("file:sqlx-in-memory-")
        || url.contains("mode=memory");
    Ok((!in_memory).then(|| path.to_owned()))
}

/// A transaction holding SQLite's write lock from its first statement on.
async fn write_tx(pool: &SqlitePool) -> StoreResult<Tx> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// `ids` as the JSON array that `json_each($n)` reads.
fn id_array<S: serde::Serialize>(ids: &[S]) -> StoreResult<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::Backend(e.into()))
}

fn hex_array(ids: &[ObjectId]) -> StoreResult<String> {
    id_array(&ids.iter().map(ObjectId::to_hex).collect::<Vec<_>>())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

common::accounts!(
    SqliteStore,
    begin = write_tx,
    insert_account = accounts::INSERT_ACCOUNT,
    balance = tx::balance_of,
    rotate_secret = accounts::ROTATE_SECRET,
);
// Claims and the reaper need no lock clause: their transaction holds SQLite's one write lock.
common::webhook_outbox!(SqliteStore, begin = write_tx, claim_lock = "");
common::render_queue!(
    SqliteStore,
    begin = write_tx,
    claim_lock = "",
    reap_lock = "",
);
common::video_control!(
    SqliteStore,
    begin = write_tx,
    row_lock = "",
    expire_lock = "",
);
common::file_outbox!(SqliteStore);
common::emulation!(
    SqliteStore,
    begin = write_tx,
    balance = tx::balance_of,
    row_lock = "",
    has_polled = has_polled_scripts,
    create = create_planned_grouped,
);
// No lock clause: BEGIN IMMEDIATE's write lock already makes takes (and appends) take turns.
common::faults!(SqliteStore, begin = write_tx, row_lock = "");
// In its own file: appends take that file's write lock, not the one deletes wait on.
common::request_journal!(
    SqliteStore,
    begin = journal_tx,
    pool = journal,
    append = journal::append,
);
