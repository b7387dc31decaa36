//! The emulator's use-cases (admin API): lifecycles, scripted outcomes, per-video outcome and
//! advance, account clocks, reset and seed. The machinery that takes the steps is `emulator`.

use super::ServiceError;
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::emulation::{Lifecycle, Outcome, Script};
use crate::domain::{ObjectId, Video};
use crate::emulator;
use crate::outbox;
use crate::store::{EmulationState, TakeOver};

pub use super::seed::{seed, SeedItem, MAX_SEED};

fn no_account(uid: i64) -> ServiceError {
    ServiceError::NotFound(format!("no account with uid {uid}"))
}

fn no_video() -> ServiceError {
    ServiceError::NotFound(super::videos::NOT_FOUND_MSG.into())
}

async fn state(app: &App, uid: i64) -> Result<EmulationState, ServiceError> {
    app.store
        .emulation(uid)
        .await?
        .ok_or_else(|| no_account(uid))
}

/// The lifecycle the account's new videos follow: its own, else the server's default.
pub async fn lifecycle(app: &App, uid: i64) -> Result<Lifecycle, ServiceError> {
    Ok(state(app, uid)
        .await?
        .lifecycle
        .unwrap_or_else(|| app.config.emulator.lifecycle.clone()))
}

pub async fn set_lifecycle(
    app: &App,
    uid: i64,
    lifecycle: Lifecycle,
) -> Result<Lifecycle, ServiceError> {
    if !app.store.set_lifecycle(uid, Some(&lifecycle)).await? {
        return Err(no_account(uid));
    }
    tracing::info!(uid, mode = lifecycle.mode(), "lifecycle set");
    Ok(lifecycle)
}

pub async fn push_outcomes(
    app: &App,
    uid: i64,
    outcomes: &[Outcome],
) -> Result<Vec<Outcome>, ServiceError> {
    let queue = app.store.push_outcomes(uid, outcomes).await?;
    queue.ok_or_else(|| no_account(uid))
}

pub async fn outcomes(app: &App, uid: i64) -> Result<Vec<Outcome>, ServiceError> {
    app.store
        .outcomes(uid)
        .await?
        .ok_or_else(|| no_account(uid))
}

pub async fn clear_outcomes(app: &App, uid: i64) -> Result<(), ServiceError> {
    if !app.store.clear_outcomes(uid).await? {
        return Err(no_account(uid));
    }
    Ok(())
}

fn finished(video: &Video) -> ServiceError {
    ServiceError::CannotOperate(format!(
        "video {} is finished (status {}): it takes no outcome and no step",
        video.id,
        video.status.code()
    ))
}

/// Sets an unfinished video's outcome (taking it from the renderer if it had it) and takes the
/// steps that are due at once.
pub async fn set_outcome(
    app: &App,
    id: &str,
    outcome: &Outcome,
) -> Result<(Video, Script), ServiceError> {
    let id = ObjectId::parse(id).ok_or_else(no_video)?;
    let scripted = app.store.scripted(id).await?.ok_or_else(no_video)?;
    let now = emulator::account_now(app, scripted.video.uid).await?;
    // after_ms counts from create_time, as a lifecycle's delays do.
    let script = Script::with_outcome(
        scripted.script.as_ref(),
        outcome,
        scripted.video.create_time,
    );
    match app.store.set_script(id, &script, now).await? {
        TakeOver::NoVideo => return Err(no_video()),
        TakeOver::Finished(video) => return Err(finished(&video)),
        TakeOver::Taken(_) => {}
    }
    let video = settled(app, id).await?;
    tracing::info!(video = %id, result = ?outcome.result, "outcome set by operator");
    Ok((video, script))
}

/// Moves an unfinished video one step (1 -> 2, 2 -> its ending; a stuck video completes),
/// taking it from the renderer if it had it.
pub async fn advance(app: &App, id: &str) -> Result<Video, ServiceError> {
    let id = ObjectId::parse(id).ok_or_else(no_video)?;
    let mut scripted = app.store.scripted(id).await?.ok_or_else(no_video)?;
    let now = emulator::account_now(app, scripted.video.uid).await?;
    let script = match scripted.script.clone() {
        Some(script) => script,
        // A rendered video becomes a manual one: the renderer lets go of it first.
        None => {
            let manual = Script::manual();
            match app.store.set_script(id, &manual, now).await? {
                TakeOver::NoVideo => return Err(no_video()),
                TakeOver::Finished(video) => return Err(finished(&video)),
                TakeOver::Taken(video) => scripted.video = video,
            }
            scripted.script = Some(manual.clone());
            manual
        }
    };
    let Some(step) = script.advance_step(scripted.video.status) else {
        return Err(finished(&scripted.video));
    };
    if !emulator::take_step(app, &scripted, step, now)
        .await
        .map_err(internal)?
    {
        return Err(ServiceError::CannotOperate(format!(
            "video {id} changed meanwhile; read it and try again"
        )));
    }
    let video = settled(app, id).await?;
    tracing::info!(video = %id, status = video.status.code(), "advanced by operator");
    Ok(video)
}

async fn settled(app: &App, id: ObjectId) -> Result<Video, ServiceError> {
    emulator::settle(app, id)
        .await
        .map_err(internal)?
        .video
        .ok_or_else(no_video)
}

fn internal(e: anyhow::Error) -> ServiceError {
    ServiceError::Internal(format!("{e:#}"))
}

/// An account's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockView {
    pub now_ms: i64,
    pub offset_ms: i64,
}

pub async fn clock(app: &App, uid: i64) -> Result<ClockView, ServiceError> {
    let offset_ms = state(app, uid).await?.clock_offset_ms;
    Ok(ClockView {
        now_ms: now_ms().saturating_add(offset_ms),
        offset_ms,
    })
}

/// How far ahead of the server's an account's clock may be: a century, so that every time
/// computed from it stays far inside 64-bit milliseconds.
pub const MAX_CLOCK_OFFSET_MS: i64 = 100 * 366 * 86_400_000;

/// Where a clock advance goes: forward by some milliseconds, or to an account time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMove {
    By(i64),
    To(i64),
}

/// Moves the account's clock forward and answers once what became due is applied: timed steps,
/// retention, callbacks waiting to be retried (made due).
pub async fn advance_clock(app: &App, uid: i64, to: ClockMove) -> Result<ClockView, ServiceError> {
    let by = match to {
        ClockMove::By(ms) if ms < 0 => {
            return Err(ServiceError::InvalidParam(format!(
                "ms must be >= 0 (clocks only move forward), got {ms}"
            )))
        }
        ClockMove::By(ms) => ms,
        ClockMove::To(target) => {
            let now = clock(app, uid).await?.now_ms;
            if target < now {
                return Err(ServiceError::InvalidParam(format!(
                    "to_ms {target} is before the account's now {now} (clocks only move forward)"
                )));
            }
            target - now
        }
    };
    let offset = state(app, uid).await?.clock_offset_ms;
    if by > MAX_CLOCK_OFFSET_MS - offset {
        return Err(too_far(offset));
    }
    if app.store.advance_clock(Some(uid), by).await? == 0 {
        return Err(no_account(uid));
    }
    after_clock_move(app, Some(uid)).await?;
    tracing::info!(uid, by_ms = by, "account clock advanced");
    clock(app, uid).await
}

/// Moves every account's clock forward by `ms`; returns how many moved.
pub async fn advance_all_clocks(app: &App, ms: i64) -> Result<u64, ServiceError> {
    if ms < 0 {
        return Err(ServiceError::InvalidParam(format!(
            "ms must be >= 0 (clocks only move forward), got {ms}"
        )));
    }
    let furthest = app
        .store
        .advanced_clocks()
        .await?
        .iter()
        .map(|(_, offset)| *offset)
        .max()
        .unwrap_or(0);
    if ms > MAX_CLOCK_OFFSET_MS - furthest {
        return Err(too_far(furthest));
    }
    let moved = app.store.advance_clock(None, ms).await?;
    after_clock_move(app, None).await?;
    tracing::info!(accounts = moved, by_ms = ms, "every account clock advanced");
    Ok(moved)
}

fn too_far(offset: i64) -> ServiceError {
    ServiceError::InvalidParam(format!(
        "a clock may run at most {MAX_CLOCK_OFFSET_MS} ms ahead of the server's; it is {offset} ms ahead now"
    ))
}

async fn after_clock_move(app: &App, uid: Option<i64>) -> Result<(), ServiceError> {
    // Cached credentials carry the clock offset that token expiry reads.
    app.auth_cache.clear();
    emulator::catch_up(app, uid).await.map_err(internal)?;
    Ok(())
}

/// What a reset removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reset {
    pub videos_removed: u64,
    pub credits: i64,
}

/// Removes every video of the account (a worker rendering one writes nothing), its files and
/// callbacks, outcome queue, fault rules and journal; lifecycle, clock and balance go back to
/// their defaults.
pub async fn reset(app: &App, uid: i64) -> Result<Reset, ServiceError> {
    let report = app
        .store
        .reset_account(uid, now_ms())
        .await?
        .ok_or_else(|| no_account(uid))?;
    app.auth_cache.clear();
    super::faults::clear_all(app, uid).await?;
    app.journal.clear(Some(uid)).await?;
    let deadline = app.config.sweeper.inline_delete_timeout;
    outbox::remove_now(app.store.as_ref(), &app.blobs, report.files, deadline).await;
    tracing::info!(uid, videos = report.videos_removed, "account reset");
    Ok(Reset {
        videos_removed: report.videos_removed,
        credits: report.credits,
    })
}

/// Resets every account; returns how many, and how many videos went.
pub async fn reset_all(app: &App) -> Result<(u64, u64), ServiceError> {
    let mut videos = 0;
    let uids = app.store.account_uids().await?;
    for uid in &uids {
        match reset(app, *uid).await {
            Ok(done) => videos += done.videos_removed,
            // Gone meanwhile: nothing of it is left to reset.
            Err(ServiceError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((uids.len() as u64, videos))
}
