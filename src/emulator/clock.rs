//! Account clocks: each account's time is the server's plus its offset, which only moves
//! forward. What waits on an account's clock (timed steps, retention of its outputs) is applied
//! by a background loop, and at once by `catch_up` after an advance.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::steps::settle;
use crate::app::App;
use crate::clock::now_ms;
use crate::store::StoreResult;

/// How often the background loop looks for timed steps that became due.
const TICK: Duration = Duration::from_millis(200);
/// Due videos read per query.
const BATCH: i64 = 200;
/// Passes over due videos per catch-up: a video takes at most two timed steps, so a few passes
/// finish everything that was due when it started; more would chase videos made due meanwhile.
const PASSES: usize = 4;

/// The account's clock now (the server's clock for an unknown account).
pub async fn account_now(app: &App, uid: i64) -> StoreResult<i64> {
    let offset = app
        .store
        .emulation(uid)
        .await?
        .map_or(0, |state| state.clock_offset_ms);
    Ok(now_ms().saturating_add(offset))
}

/// Applies what is due on the clock of `uid` (every account when `None`): timed steps, then
/// retention of outputs on clocks ahead of the server's. Returns the steps taken.
pub async fn catch_up(app: &App, uid: Option<i64>) -> anyhow::Result<usize> {
    let mut taken = 0;
    for _ in 0..PASSES {
        let due = app.store.due_scripts(now_ms(), uid, BATCH).await?;
        if due.is_empty() {
            break;
        }
        for id in &due {
            taken += settle(app, *id).await?.steps;
        }
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    expire_on_account_clocks(app, uid).await?;
    Ok(taken)
}

/// Retention by account clock. The server-wide pass (`outbox::expire_old_outputs`) uses the
/// server's clock, which is never ahead of an account's, so only advanced accounts need this in
/// the background; a catch-up of one account always does it (an advance answers with retention
/// applied, whatever the offset).
async fn expire_on_account_clocks(app: &App, uid: Option<i64>) -> anyhow::Result<()> {
    let keep = app.config.retention.keep;
    if keep.is_zero() {
        return Ok(());
    }
    let keep = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let now = now_ms();
    let mut expired = 0;
    let accounts = match uid {
        Some(uid) => {
            let offset = app.store.emulation(uid).await?.map(|s| s.clock_offset_ms);
            offset.map(|offset| (uid, offset)).into_iter().collect()
        }
        None => app.store.advanced_clocks().await?,
    };
    for (account, offset) in accounts {
        let cutoff = now.saturating_add(offset).saturating_sub(keep);
        loop {
            let n = app
                .store
                .expire_outputs_of(account, cutoff, now, BATCH)
                .await?;
            expired += n;
            if n > 0 {
                tracing::info!(
                    uid = account,
                    expired = n,
                    "outputs past retention on the account's clock"
                );
            }
            if n < BATCH as u64 {
                break;
            }
        }
    }
    if expired > 0 {
        crate::outbox::sweep(app.store.as_ref(), &app.blobs).await?;
    }
    Ok(())
}

/// The background loop: catches up every account each tick, until `stop`.
pub async fn run(app: App, stop: CancellationToken) {
    crate::periodic::every(TICK, stop, || async {
        if let Err(e) = catch_up(&app, None).await {
            tracing::warn!(error = %e, "emulator pass failed; will retry");
        }
    })
    .await
}
