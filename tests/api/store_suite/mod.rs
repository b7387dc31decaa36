//! Store conformance suite: every backend of `i2v::store::Store` must pass these checks unchanged.
//!
//! Each check is a `pub async fn check_xxx(store: Arc<dyn Store>)` in the file of the capability
//! it holds to account; it gets a fresh, empty store and knows nothing about the backend.
//! `conformance_suite!` below is the one list of checks: it makes one test per check per backend,
//! `store_suite::sqlite::check_xxx` (a fresh SQLite file) and `store_suite::postgres::check_xxx`
//! (a fresh database on the PostgreSQL test server; `#[ignore]`d, scripts/test runs it). A new
//! backend adds one arm to the macro and nothing else.
//!
//! Times are epoch milliseconds chosen by the checks; nothing here reads the clock.

mod accounts;
mod deletes;
mod emulation;
mod faults;
mod files;
mod journal;
mod operator;
mod queue;
mod requeue;
mod support;
mod videos;
mod webhook_faults;
mod webhooks;

use std::sync::Arc;

use i2v::store::{PgStore, PoolSettings, SqliteStore, Store};
use tempfile::TempDir;

/// A fresh SQLite store, and the directory that holds its file (removed when dropped).
async fn fresh_sqlite() -> (TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = SqliteStore::open(&url, &PoolSettings::default())
        .await
        .expect("open sqlite store");
    (dir, Arc::new(store))
}

/// A fresh PostgreSQL store on the test server (see `backends`).
async fn fresh_postgres() -> Arc<dyn Store> {
    crate::backends::require_services();
    let url = crate::backends::fresh_postgres_database().await;
    Arc::new(
        PgStore::open(&url, &PoolSettings::default())
            .await
            .expect("open postgres store"),
    )
}

/// One test per check per backend, from the list of checks by file.
macro_rules! conformance_suite {
    ($($file:ident: [$($check:ident),* $(,)?],)*) => {
        /// Every check against a fresh SQLite file.
        mod sqlite {
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let (_dir, store) = super::fresh_sqlite().await;
                    super::$file::$check(store).await;
                }
            )*)*
        }

        /// Every check against a fresh PostgreSQL database.
        mod postgres {
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
                async fn $check() {
                    super::$file::$check(super::fresh_postgres().await).await;
                }
            )*)*
        }
    };
}

conformance_suite! {
    accounts: [
        check_accounts_and_auth,
        check_rotate_secret,
        check_adjust_credits,
        check_ledger_matches_balance,
    ],
    videos: [
        check_create_videos_charges_atomically,
        check_videos_by_ids_scoping_and_order,
    ],
    deletes: [
        check_delete_videos,
        check_deletes_sent_together,
        check_concurrent_deletes_of_one_id,
        check_deletes_racing_claims,
    ],
    queue: [
        check_claim_oldest_first_skipping_deleted,
        check_complete_requires_lease,
        check_lost_lease_fences_the_worker,
        check_fail_refunds,
        check_heartbeat_extends_only_own_lease,
        check_concurrent_claims,
    ],
    requeue: [
        check_reap_expired,
        check_retry_later,
        check_release_and_expire_outputs,
    ],
    operator: [
        check_force_status,
        check_held_video_is_never_claimed_nor_reaped,
    ],
    files: [
        check_blob_outbox,
    ],
    webhooks: [
        check_webhook_outbox,
        check_attempt_after_delete_leaves_no_trace,
    ],
    webhook_faults: [
        check_webhook_faults_move_deliveries,
    ],
    emulation: [
        check_emulation_lifecycle,
        check_emulation_outcomes,
        check_emulation_planned_videos_leave_the_render_queue,
        check_emulation_take_step,
        check_emulation_set_script_takes_videos_over,
        check_emulation_count_polls,
        check_emulation_clocks_and_due_scripts,
        check_emulation_auth_carries_clock_offset,
        check_emulation_expire_outputs_of_one_account,
        check_emulation_reset_account,
        check_emulation_seed_videos,
        check_emulation_forced_status_drops_script,
    ],
    faults: [
        check_faults_set_read_and_clear,
        check_take_fault_counts_down_and_keeps_draws,
        check_concurrent_takes_never_over_fire,
    ],
    journal: [
        check_journal_append_and_read,
        check_journal_keeps_the_newest_of_each_account,
    ],
}
