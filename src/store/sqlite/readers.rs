//! SQLite's read path for polls: short reads run on the calling thread, on a connection of their
//! own, through rusqlite (the same bundled SQLite library sqlx links).
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every command and every row
//! across a channel: about eleven context switches for a 10-id `resultsByIds`, which cost more
//! than the read itself (docs/benchmarks.md). A read of a few point lookups takes tens of
//! microseconds, so it runs where the request already is, like taking a short lock; writes stay
//! on sqlx. Readers see every write committed before they begin (WAL), so a video whose delete
//! has been answered is never read back.
//!
//! A read that meets a busy database (WAL recovery after a crash) or any other error reports
//! it, and the caller falls back to sqlx, which waits without holding up the runtime.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::domain::{ObjectId, Video};
use crate::store::{rows, StoreResult};

/// Idle connections kept for the next reads; a read that finds none opens one (and keeps it
/// while fewer than this are idle). Reads hold a connection only while they run, so about one a
/// runtime worker thread is ever busy at once.
const KEPT_IDLE: usize = 8;

/// How long a read waits for a lock before it gives up and the caller falls back to sqlx. Only
/// WAL recovery takes a lock readers wait on; it must not stall the runtime's thread for long.
const BUSY_WAIT: Duration = Duration::from_millis(50);

/// Statements kept prepared on each connection (the reads below use a handful).
const PREPARED_STATEMENTS: usize = 16;

pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers of the database file at `path` (which the sqlx pool has already created and
    /// migrated).
    pub(super) fn new(path: &Path) -> Readers {
        Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The caller's videos among `ids`, in the order of `ids`, each once; others are left out.
    pub(super) fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>> {
        self.read(|conn| {
            // One read transaction: the answer is one snapshot, however many ids it names.
            let tx = conn.unchecked_transaction()?;
            let mut found = Vec::with_capacity(ids.len());
            {
                let mut select = tx.prepare_cached(video_by_id_sql())?;
                for (n, id) in ids.iter().enumerate() {
                    if ids[..n].contains(id) {
                        continue;
                    }
                    let row = select
                        .query_row((id.to_hex(), uid), |row| Ok(rows::video_from_rusqlite(row)))
                        .optional()?;
                    if let Some(video) = row {
                        found.push(video);
                    }
                }
            }
            tx.commit()?;
            Ok(found)
        })?
        .into_iter()
        .collect()
    }

    /// Whether the account has videos scripted to move on polls (`HAS_POLLED_SCRIPTS`).
    pub(super) fn has_polled_scripts(&self, uid: i64) -> StoreResult<bool> {
        self.read(|conn| {
            let mut count = conn.prepare_cached(crate::store::sql::HAS_POLLED_SCRIPTS)?;
            count.query_row([uid], |row| row.get::<_, i64>(0).map(|n| n > 0))
        })
    }

    /// Runs `read` on an idle connection (or a new one), then keeps the connection for the next
    /// read unless the read failed.
    fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        if result.is_ok() && conn.is_autocommit() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < KEPT_IDLE {
                idle.push(conn);
            }
        }
        Ok(result?)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        // Read-write without create, then query_only: a read-only open fails where the WAL's
        // shared-memory file is missing, which happens whenever no other connection is open.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_WAIT)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
        Ok(conn)
    }
}

/// `SELECT <the video's columns> FROM videos WHERE _id = ?1 AND uid = ?2`.
fn video_by_id_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {} FROM videos WHERE _id = ?1 AND uid = ?2",
            rows::video_select_list()
        )
    });
    SQL.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::test_store::store_with_videos;
    use crate::store::{PoolSettings, SqliteStore, Videos};

    /// The read path and sqlx read the same values, in request order, each video once.
    #[tokio::test]
    async fn reads_match_sqlx_in_request_order_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, uid, stored) = store_with_videos(dir.path()).await;
        assert_eq!(stored.len(), 3);
        let readers = store.readers.as_ref().expect("a file database has readers");
        let ids = [stored[2].id, stored[0].id, stored[2].id, stored[1].id];
        let read = readers.videos_by_ids(uid, &ids).unwrap();
        assert_eq!(
            read,
            vec![stored[2].clone(), stored[0].clone(), stored[1].clone()]
        );
        assert!(readers.videos_by_ids(uid + 1, &ids).unwrap().is_empty());
        assert!(!readers.has_polled_scripts(uid).unwrap());
    }

    /// A read path that cannot read (here: its file is gone) leaves the answer to sqlx.
    #[tokio::test]
    async fn a_failing_read_path_falls_back_to_sqlx() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, uid, stored) = store_with_videos(dir.path()).await;
        store.readers = Some(Readers::new(&dir.path().join("missing.db")));
        let ids: Vec<ObjectId> = stored.iter().map(|v| v.id).collect();
        assert!(store
            .readers
            .as_ref()
            .unwrap()
            .videos_by_ids(uid, &ids)
            .is_err());
        assert_eq!(store.videos_by_ids(uid, &ids).await.unwrap(), stored);
        assert!(!store.has_polled_scripts(uid).await.unwrap());
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_through_sqlx() {
        let store = SqliteStore::open("sqlite::memory:", &PoolSettings::default())
            .await
            .unwrap();
        assert!(store.readers.is_none());
    }
}
