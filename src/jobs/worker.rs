//! Render workers: claim a queued video, keep its lease alive, fetch its inputs, wait for a
//! render slot, render, upload, and complete while still holding the lease. A worker that loses
//! its lease (reaped, held by an operator, or the video was failed meanwhile) stops, writes
//! nothing, and removes its file. Each claim gets its own owner token, so a stale attempt can
//! never complete a newer one.
//!
//! A process runs more claimers than render slots: claimers that are still fetching (from a
//! slow or silent host) hold no slot, and slots go to accounts in turn (`RenderSlots`).

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::inputs::fetch_inputs;
use super::slots::RenderSlots;
use crate::app::App;
use crate::blobs::Blobs;
use crate::clock::now_ms;
use crate::config::Jobs;
use crate::domain::{ObjectId, Video, VideoKind};
use crate::emulator::account_now;
use crate::render::poster::poster_of;
use crate::render::{RenderError, RenderJob, RenderRequest, Rendered};
use crate::store::Completion;

/// Spawns this process's workers: `render_slots` renders at once, fed by `render_slots +
/// jobs.fetch_slots` claimers that fetch inputs ahead of a free slot.
pub fn spawn_workers(
    set: &mut JoinSet<()>,
    app: &App,
    name_prefix: &str,
    render_slots: usize,
    stop: &CancellationToken,
) {
    if render_slots == 0 {
        return;
    }
    let slots = RenderSlots::new(render_slots);
    for n in 0..render_slots + app.config.jobs.fetch_slots {
        let name = format!("{name_prefix}-w{n}");
        set.spawn(run_claimer(app.clone(), name, slots.clone(), stop.clone()));
    }
}

/// One worker with a render slot of its own; runs until `stop` is cancelled, when a render in
/// progress is handed back to the queue.
pub async fn run_worker(app: App, name: String, stop: CancellationToken) {
    run_claimer(app, name, RenderSlots::new(1), stop).await
}

async fn run_claimer(app: App, name: String, slots: RenderSlots, stop: CancellationToken) {
    loop {
        if stop.is_cancelled() {
            return;
        }
        // While fetched videos wait for every slot, claim only first videos of accounts with
        // nothing in flight: the backlog stays in the queue (where another process can take
        // it, and where it is not yet "processing"), but a newcomer still gets the next slot.
        let per_account = if slots.waiting() < slots.capacity() {
            app.config.jobs.max_in_flight_per_account
        } else {
            1
        };
        match process_next(&app, &name, &slots, per_account, &stop).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => tracing::warn!(worker = %name, error = %e, "worker step failed; will retry"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(app.config.jobs.poll) => {}
        }
    }
}

/// Claims and processes one video (from an account with fewer than `max_in_flight_per_account`
/// processing); `None` when nothing is claimable.
pub async fn process_next(
    app: &App,
    worker: &str,
    slots: &RenderSlots,
    max_in_flight_per_account: i64,
    stop: &CancellationToken,
) -> anyhow::Result<Option<ObjectId>> {
    let owner = format!("{worker}/{:016x}", rand::random::<u64>());
    let now = now_ms();
    let lease_until = now + app.config.jobs.lease.as_millis() as i64;
    let Some(video) = app
        .store
        .claim_next_within(&owner, now, lease_until, max_in_flight_per_account)
        .await?
    else {
        return Ok(None);
    };
    let id = video.id;
    let span =
        tracing::info_span!("render", video = %id, uid = video.uid, attempt = video.attempts);
    process(app, video, &owner, slots, stop)
        .instrument(span)
        .await?;
    Ok(Some(id))
}

async fn process(
    app: &App,
    video: Video,
    owner: &str,
    slots: &RenderSlots,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let lost = CancellationToken::new();
    let heartbeat = tokio::spawn(keep_lease(
        app.clone(),
        video.id,
        owner.to_owned(),
        app.config.jobs.clone(),
        lost.clone(),
    ));
    let outcome = tokio::select! {
        outcome = render(app, &video, slots) => Some(outcome),
        _ = lost.cancelled() => None,
        _ = stop.cancelled() => {
            heartbeat.abort();
            app.store.release(video.id, owner, account_now(app, video.uid).await?).await?;
            crate::metrics::render_outcome("handed_back");
            tracing::info!("shutting down: render handed back to the queue");
            return Ok(());
        }
    };
    heartbeat.abort();
    match outcome {
        None => {
            crate::metrics::render_outcome("lease_lost");
            tracing::warn!("lease lost; render abandoned");
        }
        Some(Ok((rendered, work_dir))) => {
            finish(app, &video, owner, rendered, work_dir.path()).await?
        }
        Some(Err(RenderError::Transient(reason))) => {
            let delay = retry_delay(&app.config.jobs, video.attempts);
            let run_after = now_ms() + delay.as_millis() as i64;
            let max = app.config.jobs.max_attempts;
            let recorded = app
                .store
                .retry_later(
                    video.id,
                    owner,
                    run_after,
                    &reason,
                    max,
                    account_now(app, video.uid).await?,
                )
                .await?;
            if !recorded {
                crate::metrics::render_outcome("lease_lost");
                tracing::warn!("passing fault after the lease was lost; nothing recorded");
            } else if video.attempts >= max {
                crate::metrics::render_outcome("failed");
                tracing::info!(
                    reason = %reason,
                    attempts = video.attempts,
                    "render given up after its last attempt hit a passing fault; credits refunded"
                );
            } else {
                crate::metrics::render_outcome("retry");
                tracing::info!(reason = %reason, ?delay, "passing fault; render will be retried");
            }
        }
        Some(Err(e)) => {
            let reason = e.to_string();
            let now = account_now(app, video.uid).await?;
            if app.store.fail(video.id, owner, &reason, now).await? {
                crate::metrics::render_outcome("failed");
                tracing::info!(reason = %reason, "render failed; credits refunded");
            } else {
                crate::metrics::render_outcome("lease_lost");
                tracing::warn!("render failed after the lease was lost; nothing recorded");
            }
        }
    }
    Ok(())
}

/// Exponential backoff after the `attempts`-th claim failed with a passing fault.
fn retry_delay(jobs: &Jobs, attempts: i64) -> std::time::Duration {
    let exp = (attempts - 1).clamp(0, 16) as u32;
    (jobs.retry_base * 2u32.pow(exp)).min(jobs.retry_max)
}

/// Extends the lease every heartbeat; cancels `lost` when the lease is no longer ours.
async fn keep_lease(app: App, id: ObjectId, owner: String, jobs: Jobs, lost: CancellationToken) {
    loop {
        tokio::time::sleep(jobs.heartbeat).await;
        let until = now_ms() + jobs.lease.as_millis() as i64;
        match app.store.heartbeat(id, &owner, until).await {
            Ok(true) => {}
            Ok(false) => {
                lost.cancel();
                return;
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed; will retry"),
        }
    }
}

/// Fetches the inputs, then renders in a render slot, in a private temporary directory that is
/// removed when dropped.
async fn render(
    app: &App,
    video: &Video,
    slots: &RenderSlots,
) -> Result<(Rendered, tempfile::TempDir), RenderError> {
    let tmp_root = app.config.data_dir.join("tmp");
    // The path stays in the log: `error_reason` is shown to the API user.
    let no_work_dir = |e: std::io::Error| {
        tracing::error!(dir = %tmp_root.display(), error = %e, "cannot create a render work dir");
        RenderError::Unavailable("the server could not prepare the render (local disk)".into())
    };
    tokio::fs::create_dir_all(&tmp_root)
        .await
        .map_err(no_work_dir)?;
    let work_dir = tempfile::Builder::new()
        .prefix("render-")
        .tempdir_in(&tmp_root)
        .map_err(no_work_dir)?;
    let source = match video.kind {
        VideoKind::AudioUpdate => fetch_source(app, video, work_dir.path()).await?,
        _ => None,
    };
    let renderer = &app.renderer;
    let fps = renderer.fps(video.model.as_str());
    let request = RenderRequest::resolve(video, renderer.catalogue(), fps);
    let request = fetch_inputs(&app.outbound, &app.config.render, request).await?;
    let _slot = slots.acquire(video.uid).await;
    let job = RenderJob {
        video,
        request: &request,
        source_file: source.as_deref(),
    };
    let rendered = app.renderer.render(job, work_dir.path()).await?;
    Ok((rendered, work_dir))
}

/// Copies an audio update's source video file into the work dir; `None` if it is gone.
async fn fetch_source(
    app: &App,
    video: &Video,
    dir: &std::path::Path,
) -> Result<Option<std::path::PathBuf>, RenderError> {
    let Some(pre) = video.pre_video_id else {
        return Ok(None);
    };
    let found = app
        .store
        .videos_by_ids(video.uid, &[pre])
        .await
        .map_err(|e| RenderError::Unavailable(e.to_string()))?;
    let Some(key) = found.first().and_then(|v| v.blob_key.clone()) else {
        return Ok(None);
    };
    let Some(bytes) = app
        .blobs
        .get(&key)
        .await
        .map_err(|e| RenderError::Unavailable(e.to_string()))?
    else {
        return Ok(None);
    };
    let path = dir.join("source.mp4");
    tokio::fs::write(&path, &bytes)
        .await
        .map_err(|e| RenderError::Unavailable(format!("local disk error: {e}")))?;
    Ok(Some(path))
}

/// Stages, uploads (the poster, then the video) and completes. The staged outbox row means a
/// crash anywhere here leaves files the sweeper removes (the video's poster goes with it);
/// completion takes the row back in the same transaction.
async fn finish(
    app: &App,
    video: &Video,
    owner: &str,
    rendered: Rendered,
    work_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let key = Blobs::key_for(
        &video.id.to_hex(),
        &format!("{:016x}", rand::random::<u64>()),
    );
    let poster = poster_of(&app.config.render, &rendered.file, work_dir).await;
    let grace = app.config.jobs.stage_grace.as_millis() as i64;
    let removal_due = now_ms() + grace;
    app.store.stage_blob(&key, removal_due).await?;
    if let (Some(poster), Some(poster_key)) = (poster, Blobs::poster_key(&key)) {
        app.blobs.put(&poster_key, poster).await?;
    }
    let bytes = tokio::fs::read(&rendered.file).await?;
    app.blobs.put(&key, bytes.into()).await?;
    if now_ms() > removal_due - grace / 2 {
        // The sweeper may remove the staged file any moment now; completing would publish a
        // video whose file can vanish. Drop it and let the video be rendered again.
        app.blobs.delete(&key).await?;
        anyhow::bail!("uploading the output took longer than half of jobs.stage_grace_ms");
    }
    let done = Completion {
        id: video.id,
        owner: owner.to_owned(),
        blob_key: key.clone(),
        video_duration: (rendered.duration * 1000.0).round() / 1000.0,
    };
    // Record times are the account's clock (emulator controls); leases are the server's.
    if app
        .store
        .complete(done, account_now(app, video.uid).await?)
        .await?
    {
        crate::metrics::render_outcome("completed");
        tracing::info!(duration = rendered.duration, "render complete");
    } else {
        crate::metrics::render_outcome("lease_lost");
        // Deleted, failed or re-claimed meanwhile: our file must not outlive this moment. Its
        // outbox row goes after it (a crash between leaves the row, and the sweeper a no-op).
        app.blobs.delete(&key).await?;
        app.store.unstage_blob(&key).await?;
        tracing::warn!("lease lost before completion; output discarded");
    }
    Ok(())
}
