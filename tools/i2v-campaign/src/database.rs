//! Where a campaign runs: SQLite in its data dir (the default), the given PostgreSQL database,
//! or a fresh database made on the given PostgreSQL server (`--fresh-database`) and dropped after.

use anyhow::Context;
use sqlx::{Connection, PgConnection};

/// Where a campaign keeps its state: the flags both campaigns share.
#[derive(clap::Args)]
pub struct Target {
    /// PostgreSQL to run on (an empty database) instead of SQLite in a temporary directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Treat --database-url as a server: create a fresh database on it, drop it at the end.
    #[arg(long, requires = "database_url")]
    pub fresh_database: bool,
    /// Where output files go (an empty `file://` dir or `s3://` bucket); default a temporary
    /// directory.
    #[arg(long)]
    pub blob_url: Option<String>,
}

pub struct Database {
    /// `None`: SQLite in the data dir.
    pub url: Option<String>,
    /// The server URL and name of a database we made, to drop at the end.
    made: Option<(String, String)>,
}

impl Database {
    pub async fn prepare(target: &Target) -> anyhow::Result<Database> {
        let fresh = target.fresh_database;
        let Some(url) = target.database_url.as_deref() else {
            return Ok(Database {
                url: None,
                made: None,
            });
        };
        if !fresh {
            let url = Some(url.to_owned());
            return Ok(Database { url, made: None });
        }
        let name = format!("i2v_campaign_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(url)
            .await
            .context("cannot connect to the PostgreSQL server")?;
        // CREATE DATABASE takes no bind parameters; the name is ours and plain [a-z0-9_].
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot create database {name}"))?;
        admin.close().await.ok();
        let mut fresh_url = url::Url::parse(url).context("--database-url is not a URL")?;
        fresh_url.set_path(&name);
        Ok(Database {
            url: Some(fresh_url.to_string()),
            made: Some((url.to_owned(), name)),
        })
    }

    /// Drops the database we made, if any (best effort: a leftover is only clutter).
    pub async fn finish(self) {
        let Some((server, name)) = self.made else {
            return;
        };
        let dropped = async {
            let mut admin = PgConnection::connect(&server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await
        };
        if let Err(e) = dropped.await {
            eprintln!("i2v-campaign: could not drop database {name}: {e}");
        }
    }
}
