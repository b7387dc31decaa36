//! The database half of `i2v migrate-store` (`crate::migrate_store` copies the files and reports):
//! every row of an embedded SQLite store into an empty PostgreSQL database, in one transaction
//! that commits only when the caller says so.
//!
//! The source is only read. The target must be empty, so a second run is refused instead of
//! duplicating anything. Videos found processing are queued again (as a graceful shutdown would
//! hand them back) so a worker on the new setup renders them.

mod copy;
mod tables;

use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Postgres, Transaction};

use crate::redact::redact_url_password;
use tables::{SourceFile, TABLES};

/// The SQLite database to copy from, open read-only.
pub struct Source {
    pool: SqlitePool,
    /// The request journal's own file, when there is one (`sqlite::journal`).
    journal: Option<SqlitePool>,
}

impl Source {
    /// Opens the database at `url`; its schema must be exactly the one this build knows.
    pub async fn open(url: &str) -> anyhow::Result<Source> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("bad source database URL {url}"))?;
        let path = options.get_filename().to_owned();
        if !path.is_file() {
            bail!(
                "no i2v database at {} (check --from-data-dir / --from-database-url)",
                path.display()
            );
        }
        let pool = open_read_only(options, 2, "the source database").await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .with_context(|| format!("{} is not an i2v database", path.display()))?;
        let known = sqlx::migrate!("migrations/sqlite")
            .iter()
            .map(|m| m.version)
            .max();
        if applied < known {
            bail!(
                "the source database's schema is older than this i2v: run `i2v migrate --database-url {url}` first"
            );
        }
        if applied > known {
            bail!(
                "the source database was written by a newer i2v: run that version's migrate-store"
            );
        }
        let journal_path = crate::store::sqlite::journal::path_beside(&path);
        let journal = if journal_path.is_file() {
            let options = SqliteConnectOptions::new().filename(&journal_path);
            Some(open_read_only(options, 1, "the request journal").await?)
        } else {
            None
        };
        Ok(Source { pool, journal })
    }

    /// How many videos are being rendered; the copy queues them again (emulated ones keep their
    /// state, see `tables`).
    pub async fn processing(&self) -> anyhow::Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM videos WHERE status = 2 AND lease_owner IS NOT 'emulator'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    /// Every video's output file, oldest first.
    pub async fn output_keys(&self) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT blob_key FROM videos WHERE blob_key IS NOT NULL ORDER BY update_time",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn close(self) {
        self.pool.close().await;
        if let Some(journal) = self.journal {
            journal.close().await;
        }
    }
}

/// The PostgreSQL database to copy into.
pub struct Target {
    pool: PgPool,
}

impl Target {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Target> {
        let shown = redact_url_password(url);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .with_context(|| format!("cannot connect to the target database {shown}"))?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .with_context(|| format!("cannot create the schema in {shown}"))?;
        Ok(Target { pool })
    }

    /// A transaction with every table locked against concurrent writers; refused when the target
    /// holds any row.
    pub async fn begin_empty(&self) -> anyhow::Result<PendingCopy> {
        let mut tx = self.pool.begin().await?;
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        let lock = format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(lock))
            .execute(&mut *tx)
            .await?;
        for name in names {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {name})");
            let taken: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *tx)
                .await?;
            if taken {
                bail!(
                    "the target database already holds {name} rows; migrate-store only fills an empty \
                     database, so that nothing is duplicated or overwritten (has this migration already \
                     run?). Nothing was changed"
                );
            }
        }
        Ok(PendingCopy { tx })
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// A read-only pool on the file `options` name; `what` names it in the error.
async fn open_read_only(
    options: SqliteConnectOptions,
    max_connections: u32,
    what: &str,
) -> anyhow::Result<SqlitePool> {
    let path = options.get_filename().to_owned();
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(
            options
                .read_only(true)
                .busy_timeout(Duration::from_secs(10)),
        )
        .await
        .with_context(|| format!("cannot open {what} {}", path.display()))
}

/// The rows copied so far, uncommitted.
pub struct PendingCopy {
    tx: Transaction<'static, Postgres>,
}

/// Rows copied, per table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RowsCopied {
    pub accounts: u64,
    pub videos: u64,
    pub ledger_rows: u64,
    pub webhook_deliveries: u64,
    pub webhook_attempts: u64,
    pub blob_deletions: u64,
}

impl PendingCopy {
    /// Copies every table of `source`, in foreign-key order.
    pub async fn rows_from(&mut self, source: &Source) -> anyhow::Result<RowsCopied> {
        let mut copied = RowsCopied::default();
        for table in TABLES {
            let pool = match table.file {
                SourceFile::Main => &source.pool,
                SourceFile::Journal => match &source.journal {
                    Some(journal) => journal,
                    None => continue,
                },
            };
            let rows = copy::copy_table(pool, &mut self.tx, table)
                .await
                .with_context(|| format!("copying table {}", table.name))?;
            tracing::info!(table = table.name, rows, "rows copied");
            let count = match table.name {
                "accounts" => &mut copied.accounts,
                "videos" => &mut copied.videos,
                "credit_ledger" => &mut copied.ledger_rows,
                "webhook_deliveries" => &mut copied.webhook_deliveries,
                "webhook_attempts" => &mut copied.webhook_attempts,
                "blob_deletions" => &mut copied.blob_deletions,
                _ => continue,
            };
            *count = rows;
        }
        Ok(copied)
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx
            .commit()
            .await
            .context("committing the copied rows to PostgreSQL")
    }
}
