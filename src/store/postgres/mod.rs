//! The scale-out store: PostgreSQL (or a compatible engine with `FOR UPDATE SKIP LOCKED`), shared
//! by any number of `serve` and `worker` processes.
//!
//! Transactions run at PostgreSQL's default READ COMMITTED. That is enough because every
//! decision is taken on rows this transaction has locked, never on a snapshot alone:
//!
//! * delete (DESIGN §4 step 2) first locks the caller's rows among the ids with `FOR UPDATE`
//!   (in `_id` order, so two overlapping deletes cannot deadlock). A row lock returns the newest
//!   committed version of the row, so the status it reads is the status at the moment the
//!   delete wins the row; until commit nobody else can change it. Rows it reads as 2 are left
//!   alone and reported processing; the others are deleted in the same transaction.
//! * a claim picks its row with `FOR UPDATE SKIP LOCKED`: a row that a delete has locked is
//!   skipped (so it never starts rendering; once the delete commits it is gone), and a row
//!   deleted before the claim locks it is not returned at all. When the claim wins the row
//!   first, the delete's `FOR UPDATE` waits for the claim to commit and then reads status 2.
//! * completion, failure, retry and release update `WHERE status = 2 AND lease_owner = $me`;
//!   the update takes the row lock and re-checks that condition on the newest version, so a
//!   worker whose lease was reaped (or whose video was re-queued by an operator) writes nothing.
//! * money: every balance change locks the account row (`FOR UPDATE`) before checking it, and
//!   `credits >= 0` is a table constraint besides.
//!
//! `tests/api/store_suite.rs` holds the conformance checks both backends pass, including
//! concurrent delete-versus-claim rounds that hold this argument to account.

mod accounts;
mod delete;
mod tx;
mod videos;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};

use super::{common, PoolSettings, Store, StoreResult};
use crate::domain::ObjectId;

type Tx = Transaction<'static, Postgres>;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date. Migrations take a
    /// database-wide advisory lock, so processes starting together do not race.
    pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        let options = options
            .application_name("i2v")
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .min_connections(pool.min_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn tx(&self) -> StoreResult<Tx> {
        Ok(self.pool.begin().await?)
    }
}

/// `ids` as the array parameter `= ANY($n)` reads.
fn hexes(ids: &[ObjectId]) -> Vec<String> {
    ids.iter().map(ObjectId::to_hex).collect()
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

common::accounts!(
    PgStore,
    begin = tx,
    insert_account = accounts::INSERT_ACCOUNT,
    balance = tx::lock_balance,
    rotate_secret = accounts::ROTATE_SECRET,
);
// Claimers in other processes skip the deliveries this one is claiming instead of waiting.
common::webhook_outbox!(
    PgStore,
    begin = tx,
    claim_lock = " FOR UPDATE OF d SKIP LOCKED"
);
// A render claim skips the rows a delete has locked (see above). SKIP LOCKED in the reaper:
// reapers of several processes split the work instead of queueing on it, and a row a worker is
// finishing right now is left for the next pass.
common::render_queue!(
    PgStore,
    begin = tx,
    serialize_claims = tx::serialize_claims,
    claim_lock = " FOR UPDATE OF q SKIP LOCKED",
    reap_lock = " FOR UPDATE SKIP LOCKED",
);
// Forcing a status locks the video's row; expiring outputs skips rows other processes hold.
common::video_control!(
    PgStore,
    begin = tx,
    row_lock = " FOR UPDATE",
    expire_lock = " FOR UPDATE SKIP LOCKED",
);
common::file_outbox!(PgStore);
common::emulation!(
    PgStore,
    begin = tx,
    balance = tx::lock_balance,
    row_lock = " FOR UPDATE",
    has_polled = polled_scripts_in_pool,
    create = create_planned_alone,
);
// A take locks the account's row: takes of one account take turns, other accounts' do not wait.
common::faults!(PgStore, begin = tx, row_lock = " FOR UPDATE");
common::request_journal!(
    PgStore,
    begin = tx,
    pool = pool,
    append = tx::append_to_journal,
);
