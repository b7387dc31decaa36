//! `i2v migrate-store`: moves an embedded setup (SQLite database and output files in a data dir)
//! to PostgreSQL and S3, so a deployment can scale out without losing accounts, credits or
//! videos.
//!
//! The source is only read. Every row goes into the target in one PostgreSQL transaction, and
//! the output files are copied while that transaction is open: when anything fails nothing is
//! committed (objects already copied are simply overwritten by the next run). The target must be
//! empty, so a second run is refused instead of duplicating anything.
//!
//! The source server must be stopped: a render in flight could not finish into the new setup.
//! Videos found processing are queued again (as a graceful shutdown would hand them back) so a
//! worker on the new setup renders them.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use crate::blobs::{BlobLocation, Blobs};
use crate::config::redact_url_password;
use crate::store::Backend;

/// What to move, and where.
#[derive(Clone, Debug)]
pub struct MigrateOptions {
    pub from_data_dir: PathBuf,
    /// Default `sqlite://<from_data_dir>/i2v.db`.
    pub from_database_url: Option<String>,
    pub to_database_url: String,
    pub to_blob_url: String,
}

/// What was moved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub accounts: u64,
    pub videos: u64,
    /// Videos that were processing at migration time and were queued again.
    pub requeued: u64,
    pub files_copied: u64,
    pub bytes_copied: u64,
    /// Output files the source no longer had; their videos were moved all the same.
    pub files_missing: Vec<String>,
    pub ledger_rows: u64,
    pub webhook_deliveries: u64,
    pub webhook_attempts: u64,
    pub blob_deletions: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
    /// SQLite stores 0/1; the PostgreSQL column is BOOLEAN.
    Bool,
    OptReal,
}

struct Column {
    name: &'static str,
    kind: Kind,
    /// The SQLite expression that yields the value (usually the column itself).
    from: &'static str,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        from: name,
    }
}

struct Table {
    name: &'static str,
    columns: &'static [Column],
    /// The identity column whose sequence must continue after the copied rows.
    identity: Option<&'static str>,
    order_by: &'static str,
}

use Kind::*;

/// In foreign-key order. Columns are listed explicitly so a schema change that is not carried
/// over here fails the insert loudly instead of dropping data.
const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        columns: &[
            col("uid", Int),
            col("team_id", Text),
            col("name", Text),
            col("credits", Int),
            col("banned", Bool),
            col("created_at", Int),
        ],
        identity: Some("uid"),
        order_by: "uid",
    },
    Table {
        name: "credentials",
        columns: &[
            col("uid", Int),
            col("client_id", Text),
            col("secret_hash", Text),
            col("sealed_secret", Text),
            col("rotated_at", OptInt),
        ],
        identity: None,
        order_by: "uid",
    },
    Table {
        name: "videos",
        columns: &[
            col("_id", Text),
            col("uid", Int),
            col("team_id", Text),
            col("kind", Text),
            // A render in flight cannot finish into the new setup: hand it back to the queue the
            // way a graceful shutdown does (the interrupted attempt does not count).
            Column {
                name: "status",
                kind: Int,
                from: "CASE WHEN status = 2 THEN 1 ELSE status END",
            },
            col("model_name", Text),
            col("resolution", Text),
            col("video_length", Int),
            col("image_url", Text),
            col("last_image_url", Text),
            col("prompt", Text),
            col("negative_prompt", Text),
            col("extend_prompt", Bool),
            col("audio_type", Int),
            col("audio_url", Text),
            col("generate_audio", Bool),
            col("is_premium_model", Bool),
            col("effect_code", Text),
            col("effect_name", Text),
            col("webhook_url", Text),
            col("file_name", Text),
            col("batch_id", OptText),
            col("batch_count", OptInt),
            col("pre_video_id", OptText),
            col("deduction_credit", Int),
            col("blob_key", OptText),
            col("video_duration", OptReal),
            col("error_reason", OptText),
            Column {
                name: "attempts",
                kind: Int,
                from: "CASE WHEN status = 2 THEN MAX(attempts - 1, 0) ELSE attempts END",
            },
            Column {
                name: "lease_owner",
                kind: OptText,
                from: "CASE WHEN status = 2 THEN NULL ELSE lease_owner END",
            },
            Column {
                name: "lease_until",
                kind: OptInt,
                from: "CASE WHEN status = 2 THEN NULL ELSE lease_until END",
            },
            col("create_time", Int),
            col("update_time", Int),
            col("run_after", Int),
        ],
        identity: None,
        order_by: "_id",
    },
    Table {
        name: "credit_ledger",
        columns: &[
            col("id", Int),
            col("uid", Int),
            col("amount", Int),
            col("reason", Text),
            col("video_id", OptText),
            col("created_at", Int),
        ],
        identity: Some("id"),
        order_by: "id",
    },
    Table {
        name: "webhook_deliveries",
        columns: &[
            col("id", Int),
            col("video_id", Text),
            col("uid", Int),
            col("url", Text),
            col("video_status", Int),
            col("blob_key", OptText),
            col("state", Text),
            col("attempts", Int),
            col("next_attempt_at", Int),
            col("lease_until", OptInt),
            col("last_error", OptText),
            col("created_at", Int),
            col("finished_at", OptInt),
        ],
        identity: Some("id"),
        order_by: "id",
    },
    Table {
        name: "webhook_attempts",
        columns: &[
            col("id", Int),
            col("delivery_id", Int),
            col("attempt", Int),
            col("at", Int),
            col("http_status", OptInt),
            col("error", OptText),
        ],
        identity: Some("id"),
        order_by: "id",
    },
    Table {
        name: "blob_deletions",
        columns: &[
            col("id", Int),
            col("blob_key", Text),
            col("not_before", Int),
            col("attempts", Int),
            col("last_error", OptText),
        ],
        identity: Some("id"),
        order_by: "id",
    },
];

/// Rows per INSERT: well under PostgreSQL's 65535 bind parameters for the widest table.
const BATCH_ROWS: usize = 500;
/// Output files copied at the same time.
const PARALLEL_COPIES: usize = 8;

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Real(Option<f64>),
}

/// Copies everything; see the module documentation.
pub async fn run(options: &MigrateOptions) -> anyhow::Result<Summary> {
    let source_url = options.from_database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            options.from_data_dir.join("i2v.db").display()
        )
    });
    if Backend::of_url(&source_url) != Some(Backend::Sqlite) {
        bail!(
            "--from-database-url must be a sqlite:// URL (got {})",
            redact_url_password(&source_url)
        );
    }
    if Backend::of_url(&options.to_database_url) != Some(Backend::Postgres) {
        bail!(
            "--to-database-url must be a postgres:// URL (got {})",
            redact_url_password(&options.to_database_url)
        );
    }
    let target_location = BlobLocation::parse(&options.to_blob_url)?;
    if target_location == BlobLocation::Memory {
        bail!("--to-blob-url memory:// would lose every file when the process ends");
    }

    let source = open_source(&source_url).await?;
    let source_blobs = Blobs::local(&options.from_data_dir.join("blobs"))
        .context("cannot open the source files (<data-dir>/blobs)")?;
    let target = open_target(&options.to_database_url).await?;
    let target_blobs = Blobs::open(&target_location)
        .with_context(|| format!("cannot open the file storage at {target_location}"))?;

    let mut tx = target.begin().await?;
    refuse_unless_empty(&mut tx).await?;
    let mut summary = Summary {
        requeued: sqlx::query_scalar("SELECT COUNT(*) FROM videos WHERE status = 2")
            .fetch_one(&source)
            .await
            .map(|n: i64| n as u64)?,
        ..Summary::default()
    };
    for table in TABLES {
        let copied = copy_table(&source, &mut tx, table)
            .await
            .with_context(|| format!("copying table {}", table.name))?;
        tracing::info!(table = table.name, rows = copied, "rows copied");
        match table.name {
            "accounts" => summary.accounts = copied,
            "videos" => summary.videos = copied,
            "credit_ledger" => summary.ledger_rows = copied,
            "webhook_deliveries" => summary.webhook_deliveries = copied,
            "webhook_attempts" => summary.webhook_attempts = copied,
            "blob_deletions" => summary.blob_deletions = copied,
            _ => {}
        }
    }
    copy_files(&source, &source_blobs, &target_blobs, &mut summary).await?;
    tx.commit()
        .await
        .context("committing the copied rows to PostgreSQL")?;
    source.close().await;
    target.close().await;
    Ok(summary)
}

/// The source database, opened read-only; its schema must be exactly the one this build knows.
async fn open_source(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad source database URL {url}"))?
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    let path = options.get_filename().to_owned();
    if !path.is_file() {
        bail!(
            "no i2v database at {} (check --from-data-dir / --from-database-url)",
            path.display()
        );
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the source database {}", path.display()))?;
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
        bail!("the source database was written by a newer i2v: run that version's migrate-store");
    }
    Ok(pool)
}

/// The target database with its schema brought up to date.
async fn open_target(url: &str) -> anyhow::Result<PgPool> {
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
    Ok(pool)
}

/// Locks every table against concurrent writers and refuses a target that holds any row.
async fn refuse_unless_empty(tx: &mut Transaction<'static, Postgres>) -> anyhow::Result<()> {
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    let lock = format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "));
    sqlx::query(sqlx::AssertSqlSafe(lock))
        .execute(&mut **tx)
        .await?;
    for name in names {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {name})");
        let taken: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut **tx)
            .await?;
        if taken {
            bail!(
                "the target database already holds {name} rows; migrate-store only fills an empty \
                 database, so that nothing is duplicated or overwritten (has this migration already \
                 run?). Nothing was changed"
            );
        }
    }
    Ok(())
}

/// Streams one table from SQLite into PostgreSQL in batches; returns the rows copied.
async fn copy_table(
    source: &SqlitePool,
    tx: &mut Transaction<'static, Postgres>,
    table: &Table,
) -> anyhow::Result<u64> {
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        table
            .columns
            .iter()
            .map(|c| c.from)
            .collect::<Vec<_>>()
            .join(", "),
        table.name,
        table.order_by
    );
    let insert = format!(
        "INSERT INTO {} ({}) {}",
        table.name,
        table
            .columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
        // Identity columns are GENERATED (ALWAYS for most tables): keep the source's ids.
        if table.identity.is_some() {
            "OVERRIDING SYSTEM VALUE "
        } else {
            ""
        }
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(source);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH_ROWS);
    let mut copied = 0u64;
    loop {
        let next = rows.try_next().await?;
        if let Some(row) = &next {
            batch.push(read_row(row, table.columns)?);
        }
        if batch.len() == BATCH_ROWS || (next.is_none() && !batch.is_empty()) {
            let mut query = QueryBuilder::<Postgres>::new(&insert);
            query.push_values(batch.drain(..), |mut tuple, row| {
                for value in row {
                    match value {
                        Value::Int(v) => tuple.push_bind(v),
                        Value::Text(v) => tuple.push_bind(v),
                        Value::Bool(v) => tuple.push_bind(v),
                        Value::Real(v) => tuple.push_bind(v),
                    };
                }
            });
            copied += query.build().execute(&mut **tx).await?.rows_affected();
        }
        if next.is_none() {
            break;
        }
    }
    if let Some(column) = table.identity {
        // New rows must number after the copied ones. With no rows MAX is NULL and setval
        // (strict) leaves the sequence at its start.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{0}', '{1}'), (SELECT MAX({1}) FROM {0}))",
            table.name, column
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await?;
    }
    Ok(copied)
}

fn read_row(row: &SqliteRow, columns: &[Column]) -> anyhow::Result<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = match column.kind {
                Int => row.try_get(i).map(|v| Value::Int(Some(v))),
                OptInt => row.try_get(i).map(Value::Int),
                Text => row.try_get(i).map(|v| Value::Text(Some(v))),
                OptText => row.try_get(i).map(Value::Text),
                Bool => row.try_get::<i64, _>(i).map(|v| Value::Bool(v != 0)),
                OptReal => row.try_get(i).map(Value::Real),
            };
            value.with_context(|| format!("reading column {}", column.name))
        })
        .collect()
}

/// Copies every video's output file under the same key and checks its size on arrival. A file
/// the source no longer has is recorded, not fatal: its video moves all the same.
async fn copy_files(
    source: &SqlitePool,
    from: &Blobs,
    to: &Blobs,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT blob_key FROM videos WHERE blob_key IS NOT NULL ORDER BY update_time",
    )
    .fetch_all(source)
    .await?;
    let total = keys.len();
    let mut copies = futures::stream::iter(keys)
        .map(|key| async move {
            let copied = copy_file(from, to, &key)
                .await
                .with_context(|| format!("copying file {key}"))?;
            anyhow::Ok((key, copied))
        })
        .buffer_unordered(PARALLEL_COPIES);
    while let Some((key, copied)) = copies.try_next().await? {
        match copied {
            Some(bytes) => {
                summary.files_copied += 1;
                summary.bytes_copied += bytes;
            }
            None => {
                tracing::warn!(%key, "output file missing in the source; its video moves without it");
                summary.files_missing.push(key);
            }
        }
        let done = summary.files_copied as usize + summary.files_missing.len();
        if done % 100 == 0 {
            tracing::info!(done, total, "files copied");
        }
    }
    Ok(())
}

/// The file's size once copied, `None` when the source does not have it. Files are read whole:
/// rendered videos are a few megabytes.
async fn copy_file(from: &Blobs, to: &Blobs, key: &str) -> anyhow::Result<Option<u64>> {
    let Some(bytes) = from.get(key).await? else {
        return Ok(None);
    };
    let expected = bytes.len() as u64;
    to.put(key, bytes).await?;
    let stored = to.size(key).await?;
    if stored != Some(expected) {
        bail!("the copy has {stored:?} bytes, the source {expected}");
    }
    Ok(Some(expected))
}

/// What to tell the operator after a successful run: the counts and how to start the new setup.
/// Never includes the master key itself.
pub fn report(options: &MigrateOptions, summary: &Summary) -> String {
    let key_file = options.from_data_dir.join("master.key");
    let key_hint = master_key_hint(&key_file);
    let database = redact_url_password(&options.to_database_url);
    let blobs = &options.to_blob_url;
    let mut out = format!(
        "migrated to {database} and {blobs}:\n\
         \x20 accounts:            {}\n\
         \x20 videos:              {} ({} re-queued from processing)\n\
         \x20 files:               {} copied, {} bytes\n\
         \x20 files missing:       {}\n\
         \x20 ledger rows:         {}\n\
         \x20 webhook deliveries:  {} ({} attempts)\n\
         \x20 pending deletions:   {}\n",
        summary.accounts,
        summary.videos,
        summary.requeued,
        summary.files_copied,
        summary.bytes_copied,
        summary.files_missing.len(),
        summary.ledger_rows,
        summary.webhook_deliveries,
        summary.webhook_attempts,
        summary.blob_deletions,
    );
    for key in &summary.files_missing {
        out.push_str(&format!("  missing in the source: {key}\n"));
    }
    out.push_str(&format!(
        "\nnext steps:\n\
         \x20 1. {key_hint}\n\
         \x20 2. start every process against the new setup with the same master key, e.g.\n\
         \x20    i2v serve  --database-url '{database}' --blob-url {blobs} --master-key \"$I2V_MASTER_KEY\"\n\
         \x20    i2v worker --database-url '{database}' --blob-url {blobs} --master-key \"$I2V_MASTER_KEY\"\n\
         \x20    (with the AWS_* variables set for S3)\n\
         \x20 3. keep {} until the new setup is checked; do not start the old server again\n",
        options.from_data_dir.display()
    ));
    out
}

fn master_key_hint(key_file: &Path) -> String {
    if key_file.is_file() {
        format!(
            "API keys and webhook secrets are sealed with the source's master key: carry it over, \
             e.g. export I2V_MASTER_KEY=\"$(cat {})\"",
            key_file.display()
        )
    } else {
        format!(
            "API keys and webhook secrets are sealed with the source's master key; {} does not \
             exist, so use the --master-key / I2V_MASTER_KEY value the source server was given",
            key_file.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A column added to the video record but not here would be dropped by a migration silently
    /// (the target's column takes its default), so the copy must name every one.
    #[test]
    fn every_video_column_is_copied() {
        let videos = TABLES.iter().find(|t| t.name == "videos");
        let copied: Vec<&str> =
            videos.map_or(Vec::new(), |t| t.columns.iter().map(|c| c.name).collect());
        for column in crate::store::VIDEO_COLUMNS {
            assert!(copied.contains(column), "videos.{column} is not copied");
        }
    }
}
