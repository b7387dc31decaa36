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

use anyhow::{bail, Context};
use futures::{StreamExt, TryStreamExt};

use crate::blobs::{BlobLocation, Blobs};
use crate::redact::redact_url_password;
use crate::store::migrate::{Source, Target};
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

/// Output files copied at the same time.
const PARALLEL_COPIES: usize = 8;

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

    let source = Source::open(&source_url).await?;
    let source_blobs = Blobs::local(&options.from_data_dir.join("blobs"))
        .context("cannot open the source files (<data-dir>/blobs)")?;
    let target = Target::open(&options.to_database_url).await?;
    let target_blobs = Blobs::open(&target_location)
        .with_context(|| format!("cannot open the file storage at {target_location}"))?;

    // Files are copied while the rows' transaction is open: when anything fails nothing is
    // committed (objects already copied are simply overwritten by the next run).
    let mut copy = target.begin_empty().await?;
    let mut summary = Summary {
        requeued: source.processing().await?,
        ..Summary::default()
    };
    let rows = copy.rows_from(&source).await?;
    summary.accounts = rows.accounts;
    summary.videos = rows.videos;
    summary.ledger_rows = rows.ledger_rows;
    summary.webhook_deliveries = rows.webhook_deliveries;
    summary.webhook_attempts = rows.webhook_attempts;
    summary.blob_deletions = rows.blob_deletions;
    let keys = source.output_keys().await?;
    copy_files(keys, &source_blobs, &target_blobs, &mut summary).await?;
    copy.commit().await?;
    source.close().await;
    target.close().await;
    Ok(summary)
}

/// Copies every video's output file under the same key and checks its size on arrival. A file
/// the source no longer has is recorded, not fatal: its video moves all the same.
async fn copy_files(
    keys: Vec<String>,
    from: &Blobs,
    to: &Blobs,
    summary: &mut Summary,
) -> anyhow::Result<()> {
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

/// The file's size once copied, `None` when the source does not have it; its poster, when
/// there is one, goes along (the poster first, as a worker writes them). Files are read whole:
/// rendered videos are a few megabytes.
async fn copy_file(from: &Blobs, to: &Blobs, key: &str) -> anyhow::Result<Option<u64>> {
    let Some(bytes) = from.get(key).await? else {
        return Ok(None);
    };
    if let Some(poster) = Blobs::poster_key(key) {
        if let Some(image) = from.get(&poster).await? {
            to.put(&poster, image).await?;
        }
    }
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
