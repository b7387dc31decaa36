//! Creating, reading and deleting videos (DESIGN §4).

use super::{Caller, ServiceError};
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::spec::VideoSpec;
use crate::domain::video::{AudioType, Order, Video, VideoKind};
use crate::domain::{IdList, ObjectId, VideoStatus};
use crate::emulator;
use crate::outbox;
use crate::store::{ForcedStatus, VideoFilter, VideoPage};

/// Shown for every id that cannot be deleted for any reason other than processing: unknown,
/// malformed, already deleted and other accounts' ids all read alike, so nothing leaks.
pub const NOT_FOUND_MSG: &str = "video resource not found";
/// Akool's documented text for a processing video.
pub const PROCESSING_MSG: &str = "video resource is processing, please try again later";

/// Creates `count` videos of `spec` (1 for the single endpoint), charged in one transaction.
pub async fn create(
    app: &App,
    caller: &Caller,
    spec: &VideoSpec,
    count: i64,
    kind: VideoKind,
) -> Result<Vec<Video>, ServiceError> {
    let state = app.store.emulation(caller.uid).await?;
    let offset = state.as_ref().map_or(0, |s| s.clock_offset_ms);
    let lifecycle = state
        .and_then(|s| s.lifecycle)
        .unwrap_or_else(|| app.config.emulator.lifecycle.clone());
    // The account's clock stamps its records (emulator controls; the server's clock by default).
    let now = now_ms().saturating_add(offset);
    let order = Order {
        uid: caller.uid,
        team_id: &caller.team_id,
        kind,
        at: now,
    };
    let mut videos = Video::ordered(spec, order, count);
    let scripts = app
        .store
        .create_planned(caller.uid, videos.clone(), &lifecycle, now)
        .await?;
    tracing::info!(uid = caller.uid, count, ids = ?videos.iter().map(|v| v.id).collect::<Vec<_>>(), "videos created");
    // Emulated videos take the steps that are due at once (instant mode: all of them), so the
    // answer shows where they are.
    for (video, script) in videos.iter_mut().zip(&scripts) {
        if script.is_none() {
            continue;
        }
        // The videos are created and charged whatever happens here: a step that fails now is
        // taken by the emulator's background loop, and the answer shows where the video is.
        match emulator::settle(app, video.id).await {
            Ok(settled) => {
                if let Some(now) = settled.video {
                    *video = now;
                }
            }
            Err(e) => {
                tracing::warn!(video = %video.id, error = %format!("{e:#}"), "emulated step failed; the background loop retries it")
            }
        }
    }
    Ok(videos)
}

/// Update Video Audio (spec §9): a new record that puts new audio under a finished video.
pub async fn update_audio(
    app: &App,
    caller: &Caller,
    pre_video_id: &str,
    audio_type: AudioType,
    audio_url: &str,
) -> Result<(Video, Option<f64>), ServiceError> {
    let not_found = || ServiceError::NotFound("The content you get does not exist".into());
    let pre = ObjectId::parse(pre_video_id).ok_or_else(not_found)?;
    let source = app
        .store
        .videos_by_ids(caller.uid, &[pre])
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    if source.status != VideoStatus::Completed || source.blob_key.is_none() {
        return Err(ServiceError::CannotOperate(
            "This content cannot be operated: pre_video_id must be a completed video with an output file".into(),
        ));
    }
    let now = emulator::account_now(app, caller.uid).await?;
    let video = source.audio_update(audio_type, audio_url, now);
    app.store
        .create_videos(caller.uid, vec![video.clone()], now)
        .await?;
    tracing::info!(uid = caller.uid, video = %video.id, source = %source.id, "audio update created");
    Ok((video, source.video_duration))
}

/// The caller's videos among `ids`, in request order; anything else is left out. The call counts
/// as a poll for unfinished videos that move by polls (emulator controls).
pub async fn results(app: &App, caller: &Caller, ids: &IdList) -> Result<Vec<Video>, ServiceError> {
    let ids = ids.object_ids();
    let polled = app.store.videos_for_poll(caller.uid, &ids).await?;
    let videos = polled.videos;
    let unfinished: Vec<ObjectId> = videos
        .iter()
        .filter(|v| v.status.is_unfinished())
        .map(|v| v.id)
        .collect();
    if unfinished.is_empty() || !polled.scripts_move_on_polls {
        return Ok(videos);
    }
    let moved = emulator::settle_polled(app, caller.uid, &unfinished)
        .await
        .map_err(|e| ServiceError::Internal(format!("{e:#}")))?;
    if !moved {
        return Ok(videos);
    }
    Ok(app.store.videos_by_ids(caller.uid, &ids).await?)
}

/// The caller's videos `filter` selects, newest first (web console, `GET /api/i2v/v1/videos`).
/// Unlike `results` it moves no emulated video: listing is looking, not polling.
pub async fn list(
    app: &App,
    caller: &Caller,
    filter: &VideoFilter,
) -> Result<VideoPage, ServiceError> {
    Ok(app.store.list_videos(caller.uid, filter).await?)
}

/// What happened to one requested id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteResult {
    Deleted(String),
    Processing(String),
    NotFound(String),
}

/// DESIGN §4: one transaction decides (on SQLite shared with concurrent deletes: the store's
/// group commit); files go after commit (bounded), the outbox does the rest.
/// Returns one result per requested id, in request order.
pub async fn delete(
    app: &App,
    caller: &Caller,
    ids: &IdList,
) -> Result<Vec<DeleteResult>, ServiceError> {
    let outcome = app
        .store
        .delete_videos(caller.uid, &ids.object_ids(), now_ms())
        .await?;
    let deadline = app.config.sweeper.inline_delete_timeout;
    outbox::remove_now(app.store.as_ref(), &app.blobs, outcome.files, deadline).await;
    if !outcome.deleted.is_empty() {
        tracing::info!(uid = caller.uid, deleted = ?outcome.deleted, "videos deleted");
    }
    Ok(ids
        .segments()
        .iter()
        .map(|segment| match ObjectId::parse(segment) {
            Some(id) if outcome.deleted.contains(&id) => DeleteResult::Deleted(segment.clone()),
            Some(id) if outcome.processing.contains(&id) => {
                DeleteResult::Processing(segment.clone())
            }
            _ => DeleteResult::NotFound(segment.clone()),
        })
        .collect())
}

/// Operator control (admin API): hold as processing (2), re-queue (1) or fail with refund (4).
pub async fn force_status(
    app: &App,
    id: &str,
    status: i64,
    reason: Option<&str>,
) -> Result<Video, ServiceError> {
    let to = match status {
        1 => ForcedStatus::Requeue,
        2 => ForcedStatus::Hold,
        4 => ForcedStatus::Fail(reason.unwrap_or("failed by operator").to_owned()),
        _ => {
            return Err(ServiceError::InvalidParam(
                "status must be 1 (queue), 2 (hold as processing) or 4 (fail); 3 is reached only by rendering".into(),
            ))
        }
    };
    let id = ObjectId::parse(id).ok_or_else(|| ServiceError::NotFound(NOT_FOUND_MSG.into()))?;
    let video = app.store.force_status(id, to, now_ms()).await?;
    let video = video.ok_or_else(|| ServiceError::NotFound(NOT_FOUND_MSG.into()))?;
    // A re-queued or failed video's old output is in the outbox now; remove it promptly.
    let _ = outbox::sweep(app.store.as_ref(), &app.blobs).await;
    tracing::info!(video = %id, status, "status forced by operator");
    Ok(video)
}
