//! The tables `i2v migrate-store` copies and how each column is read from SQLite.

#[derive(Clone, Copy)]
pub(super) enum Kind {
    Int,
    OptInt,
    Text,
    OptText,
    /// SQLite stores 0/1; the PostgreSQL column is BOOLEAN.
    Bool,
    OptReal,
    /// A journal body: text, or text SQLite keeps compressed (`store::journal_body`).
    Body,
}

pub(super) struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// The SQLite expression that yields the value (usually the column itself).
    pub from: &'static str,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        from: name,
    }
}

/// The SQLite file a table is in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SourceFile {
    Main,
    /// The request journal's own file, absent when nothing was ever journaled.
    Journal,
}

pub(super) struct Table {
    pub name: &'static str,
    pub file: SourceFile,
    pub columns: &'static [Column],
    /// The identity column whose sequence must continue after the copied rows.
    pub identity: Option<&'static str>,
    pub order_by: &'static str,
}

use Kind::*;

/// In foreign-key order. Columns are listed explicitly so a schema change that is not carried
/// over here fails the insert loudly instead of dropping data.
pub(super) const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        file: SourceFile::Main,
        columns: &[
            col("uid", Int),
            col("team_id", Text),
            col("name", Text),
            col("credits", Int),
            col("banned", Bool),
            col("created_at", Int),
            col("clock_offset_ms", Int),
            col("lifecycle", OptText),
            col("api_faults", OptText),
            col("webhook_faults", OptText),
        ],
        identity: Some("uid"),
        order_by: "uid",
    },
    Table {
        name: "credentials",
        file: SourceFile::Main,
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
        file: SourceFile::Main,
        columns: &[
            col("_id", Text),
            col("uid", Int),
            col("team_id", Text),
            col("kind", Text),
            // A render in flight cannot finish into the new setup: hand it back to the queue the
            // way a graceful shutdown does (the interrupted attempt does not count). Emulated
            // videos (leased to 'emulator', store::EMULATOR_OWNER) keep their state: their
            // script goes on in the new setup.
            Column {
                name: "status",
                kind: Int,
                from:
                    "CASE WHEN status = 2 AND lease_owner IS NOT 'emulator' THEN 1 ELSE status END",
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
                from: "CASE WHEN status = 2 AND lease_owner IS NOT 'emulator' \
                       THEN MAX(attempts - 1, 0) ELSE attempts END",
            },
            Column {
                name: "lease_owner",
                kind: OptText,
                from: "CASE WHEN status = 2 AND lease_owner IS NOT 'emulator' \
                       THEN NULL ELSE lease_owner END",
            },
            Column {
                name: "lease_until",
                kind: OptInt,
                from: "CASE WHEN status = 2 AND lease_owner IS NOT 'emulator' \
                       THEN NULL ELSE lease_until END",
            },
            col("create_time", Int),
            col("update_time", Int),
            col("run_after", Int),
        ],
        identity: None,
        order_by: "_id",
    },
    Table {
        name: "video_scripts",
        file: SourceFile::Main,
        columns: &[
            col("video_id", Text),
            col("uid", Int),
            col("timing", Text),
            col("script", Text),
            col("polls", Int),
            col("due_at", OptInt),
        ],
        identity: None,
        order_by: "video_id",
    },
    Table {
        name: "scripted_outcomes",
        file: SourceFile::Main,
        columns: &[col("id", Int), col("uid", Int), col("outcome", Text)],
        identity: Some("id"),
        order_by: "id",
    },
    Table {
        name: "credit_ledger",
        file: SourceFile::Main,
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
        file: SourceFile::Main,
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
            col("fault", OptText),
        ],
        identity: Some("id"),
        order_by: "id",
    },
    Table {
        name: "webhook_attempts",
        file: SourceFile::Main,
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
        file: SourceFile::Main,
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
    Table {
        name: "request_journal",
        file: SourceFile::Journal,
        columns: &[
            col("id", Int),
            col("uid", OptInt),
            col("at_ms", Int),
            col("method", Text),
            col("path", Text),
            col("query", Text),
            col("request_body", Body),
            col("status", OptInt),
            col("code", OptInt),
            col("response_body", Body),
            col("latency_ms", Int),
            col("fault", OptText),
        ],
        identity: Some("id"),
        order_by: "id",
    },
];

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

    /// The same for every table and column the SQLite migrations create: a new one that is not
    /// listed here would be left behind by a migration.
    #[tokio::test]
    async fn every_table_and_column_of_the_schema_is_copied() {
        let main = migrated(sqlx::migrate!("migrations/sqlite")).await;
        let journal = migrated(sqlx::migrate!("migrations/sqlite-journal")).await;
        for (file, pool) in [(SourceFile::Main, &main), (SourceFile::Journal, &journal)] {
            assert_schema_is_copied(file, pool).await;
        }
    }

    async fn migrated(migrator: sqlx::migrate::Migrator) -> sqlx::SqlitePool {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        migrator.run(&pool).await.unwrap();
        pool
    }

    async fn assert_schema_is_copied(file: SourceFile, pool: &sqlx::SqlitePool) {
        let schema: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '_sqlx_migrations' ORDER BY m.name, c.cid",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(!schema.is_empty());
        for (table, column) in schema {
            let copied = TABLES
                .iter()
                .find(|t| t.name == table && t.file == file)
                .is_some_and(|t| t.columns.iter().any(|c| c.name == column));
            assert!(copied, "{table}.{column} is not copied");
        }
    }
}
