//! The request journal's own SQLite file, beside the main database.
//!
//! Journal writes are many and large (each entry keeps its answer, kilobytes for a results
//! call), and losing the last moments of them on power loss is acceptable. In the main file they
//! would take the one write lock every delete and claim waits on, and fsync its WAL at every
//! batch; in a file of their own they take neither, and run with `synchronous = NORMAL`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::Tx;
use crate::store::journal_body::BodyToStore;
use crate::store::{sql, JournalEntry, StoreResult};

/// `<stem>.requests.db` beside the main database file `<stem>.<ext>`.
pub fn path_beside(main: &Path) -> PathBuf {
    let stem = main
        .file_stem()
        .map_or_else(|| "i2v".into(), |s| s.to_string_lossy().into_owned());
    main.with_file_name(format!("{stem}.requests.db"))
}

/// Opens (creating if needed) the journal file of the main database at `main_url`, brings its
/// schema up to date, and takes over entries an older i2v kept in the main file. Call before
/// the main database's migrations, which drop that old table.
pub async fn connect(main_url: &str) -> StoreResult<SqlitePool> {
    let main_path = super::file_of(main_url)?;
    let in_memory = main_path.is_none();
    let options = match &main_path {
        None => SqliteConnectOptions::from_str("sqlite::memory:")?,
        Some(main_path) => SqliteConnectOptions::new()
            .filename(path_beside(main_path))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal),
    };
    // Appends take turns (one writer); a second connection lets a read run beside a write. An
    // in-memory database is one per connection, so it gets exactly one.
    let pool = SqlitePoolOptions::new()
        .max_connections(if in_memory { 1 } else { 2 })
        .connect_with(options.busy_timeout(Duration::from_secs(10)))
        .await?;
    sqlx::migrate!("migrations/sqlite-journal")
        .run(&pool)
        .await?;
    if let Some(main_path) = main_path.filter(|p| p.is_file()) {
        adopt_entries_of_main_file(&pool, &main_path).await?;
    }
    Ok(pool)
}

/// Copies the entries of a main database written before the journal had its own file. Safe to
/// repeat: an entry keeps its id, so a second copy (a crash before the main file's migration
/// dropped the old table) adds nothing.
async fn adopt_entries_of_main_file(pool: &SqlitePool, main: &Path) -> StoreResult<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("ATTACH DATABASE $1 AS old_main")
        .bind(main.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await?;
    let has_old: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM old_main.sqlite_master \
         WHERE type = 'table' AND name = 'request_journal')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let copied = if has_old {
        sqlx::query(
            "INSERT OR IGNORE INTO main.request_journal SELECT * FROM old_main.request_journal",
        )
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected())
    } else {
        Ok(0)
    };
    sqlx::query("DETACH DATABASE old_main")
        .execute(&mut *conn)
        .await?;
    let copied = copied?;
    if copied > 0 {
        tracing::info!(entries = copied, "request journal moved to its own file");
    }
    Ok(())
}

/// Inserts `entries`, in their order, `sql::JOURNAL_CHUNK_SQLITE` to a statement.
pub(super) async fn append(tx: &mut Tx, entries: &[JournalEntry]) -> StoreResult<()> {
    for chunk in entries.chunks(sql::JOURNAL_CHUNK_SQLITE) {
        let mut append = sqlx::query(sql::journal_append_sqlite(chunk.len()));
        for e in chunk {
            append = append
                .bind(e.uid)
                .bind(e.at_ms)
                .bind(&e.method)
                .bind(&e.path)
                .bind(&e.query)
                .bind(BodyToStore(&e.request_body))
                .bind(e.status)
                .bind(e.code)
                .bind(BodyToStore(&e.response_body))
                .bind(e.latency_ms)
                .bind(&e.fault);
        }
        append.execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JournalEntry, JournalFilter, PoolSettings, RequestJournal, SqliteStore};

    #[test]
    fn the_journal_file_is_named_after_the_main_one() {
        assert_eq!(
            path_beside(Path::new("/data/i2v.db")),
            Path::new("/data/i2v.requests.db")
        );
        assert_eq!(
            path_beside(Path::new("/data/store")),
            Path::new("/data/store.requests.db")
        );
    }

    /// A database written before the journal had its own file keeps its entries (ids included)
    /// when this version opens it, and its old table is gone.
    #[tokio::test]
    async fn entries_of_an_older_main_file_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("i2v.db");
        let url = format!("sqlite://{}", main.display());
        let old_schema = {
            let mut migrator = sqlx::migrate!("migrations/sqlite");
            migrator.migrations = migrator
                .migrations
                .iter()
                .filter(|m| m.version < 10)
                .cloned()
                .collect();
            migrator
        };
        let old = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::from_str(&url)
                    .unwrap()
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        old_schema.run(&old).await.unwrap();
        sqlx::query(
            "INSERT INTO request_journal (id, uid, at_ms, method, path, query, request_body, \
             status, code, response_body, latency_ms, fault) \
             VALUES (41, 7, 1000, 'POST', '/api/open/v4/image2Video/delbyids', '', '{}', 200, \
             1000, '{\"code\":1000}', 3, NULL)",
        )
        .execute(&old)
        .await
        .unwrap();
        old.close().await;

        for _ in 0..2 {
            // Twice: opening again copies nothing more.
            let store = SqliteStore::open(&url, &PoolSettings::default())
                .await
                .unwrap();
            let entries = store
                .requests(&JournalFilter {
                    uid: None,
                    path: None,
                    code: None,
                    since_id: None,
                    limit: 10,
                })
                .await
                .unwrap();
            assert_eq!(entries.len(), 1);
            assert_eq!((entries[0].id, entries[0].uid), (41, Some(7)));
            assert_eq!(entries[0].response_body, "{\"code\":1000}");
        }
        let check = SqlitePoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let old_table: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'request_journal'")
                .fetch_one(&check)
                .await
                .unwrap();
        assert_eq!(old_table, 0, "the main file keeps no journal table");
        assert!(path_beside(&main).is_file());
    }

    /// Long bodies go into the file compressed (a BLOB a fraction of their size), short ones as
    /// text, and both read back as written.
    #[tokio::test]
    async fn long_bodies_are_kept_compressed_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("i2v.db");
        let url = format!("sqlite://{}", main.display());
        let store = SqliteStore::open(&url, &PoolSettings::default())
            .await
            .unwrap();
        let answer = format!(
            r#"{{"code":1000,"data":{{"result":[{}]}}}}"#,
            r#"{"_id":"6740a1b2c3d4e5f601234567","status":3,"video":"ünïcode"},"#.repeat(40)
        );
        let entry = JournalEntry {
            id: 0,
            at_ms: 1,
            uid: Some(1),
            method: "POST".into(),
            path: "/api/open/v4/image2Video/resultsByIds".into(),
            query: String::new(),
            request_body: r#"{"_ids":"6740a1b2c3d4e5f601234567"}"#.into(),
            status: Some(200),
            code: Some(1000),
            response_body: answer.clone(),
            latency_ms: 1,
            fault: None,
        };
        store
            .append_requests(std::slice::from_ref(&entry), 10)
            .await
            .unwrap();
        let read = store
            .requests(&JournalFilter {
                limit: 10,
                ..JournalFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            read,
            vec![JournalEntry {
                id: read[0].id,
                ..entry
            }]
        );

        let file = SqlitePoolOptions::new()
            .max_connections(1)
            .connect(&format!("sqlite://{}", path_beside(&main).display()))
            .await
            .unwrap();
        let (request, response, response_len): (String, String, i64) = sqlx::query_as(
            "SELECT typeof(request_body), typeof(response_body), length(response_body) \
             FROM request_journal",
        )
        .fetch_one(&file)
        .await
        .unwrap();
        assert_eq!((request.as_str(), response.as_str()), ("text", "blob"));
        assert!(
            (response_len as usize) * 4 < answer.len(),
            "{response_len} bytes kept of {}",
            answer.len()
        );
    }
}
