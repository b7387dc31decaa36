//! Creating, reading and deleting videos (DESIGN §4).

use super::{Caller, ServiceError};
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::catalogue::audio_update_price;
use crate::domain::spec::{AudioType, VideoSpec};
use crate::domain::{IdList, ObjectId, VideoStatus};
use crate::outbox;
use crate::store::{ForcedStatus, Video, VideoKind};

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
    let now = now_ms();
    let batch_id = (kind == VideoKind::Batch).then(|| format!("{now}_{}", caller.uid));
    let videos: Vec<Video> = (0..count)
        .map(|i| {
            // Consecutive ids and create times, as in Akool's batch example.
            let created = now + i;
            Video {
                id: ObjectId::generate((created / 1000) as u64),
                uid: caller.uid,
                team_id: caller.team_id.clone(),
                kind,
                status: VideoStatus::Queued,
                model_name: spec.model.value.to_owned(),
                resolution: spec.resolution.value.to_owned(),
                video_length: spec.video_length,
                image_url: spec.image_url.clone(),
                last_image_url: spec.last_image_url.clone().unwrap_or_default(),
                prompt: spec.prompt.clone(),
                negative_prompt: spec.negative_prompt.clone(),
                extend_prompt: spec.extend_prompt,
                audio_type: spec.audio_type.code(),
                audio_url: spec.audio_url.clone(),
                generate_audio: spec.generate_audio,
                is_premium_model: spec.is_premium_model,
                effect_code: spec.effect.map(|e| e.code.to_owned()).unwrap_or_default(),
                effect_name: spec.effect.map(|e| e.name.to_owned()).unwrap_or_default(),
                webhook_url: spec.webhook_url.clone(),
                file_name: spec.file_name(),
                batch_id: batch_id.clone(),
                batch_count: batch_id.as_ref().map(|_| count),
                pre_video_id: None,
                deduction_credit: spec.price,
                blob_key: None,
                video_duration: None,
                error_reason: None,
                attempts: 0,
                create_time: created,
                update_time: created,
            }
        })
        .collect();
    app.store
        .create_videos(caller.uid, videos.clone(), now)
        .await?;
    tracing::info!(uid = caller.uid, count, ids = ?videos.iter().map(|v| v.id).collect::<Vec<_>>(), "videos created");
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
    let seconds = source.video_duration.unwrap_or(source.video_length as f64);
    let now = now_ms();
    let video = Video {
        id: ObjectId::generate((now / 1000) as u64),
        kind: VideoKind::AudioUpdate,
        status: VideoStatus::Queued,
        audio_type: audio_type.code(),
        audio_url: audio_url.to_owned(),
        generate_audio: false,
        // Akool's example shows no callback for audio updates; none is inherited.
        webhook_url: String::new(),
        batch_id: None,
        batch_count: None,
        pre_video_id: Some(source.id.to_hex()),
        deduction_credit: audio_update_price(seconds),
        blob_key: None,
        video_duration: None,
        error_reason: None,
        attempts: 0,
        create_time: now,
        update_time: now,
        ..source.clone()
    };
    app.store
        .create_videos(caller.uid, vec![video.clone()], now)
        .await?;
    tracing::info!(uid = caller.uid, video = %video.id, source = %source.id, "audio update created");
    Ok((video, source.video_duration))
}

/// The caller's videos among `ids`, in request order; anything else is left out.
pub async fn results(app: &App, caller: &Caller, ids: &IdList) -> Result<Vec<Video>, ServiceError> {
    Ok(app
        .store
        .videos_by_ids(caller.uid, &ids.object_ids())
        .await?)
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
