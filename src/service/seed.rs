//! Seeding (admin API): records written straight into the store for a test's setup, up to
//! `MAX_SEED` per call, in order. Finished ones get a real MP4 (staged before upload, like a
//! worker's, so a crash leaves no unowned file); queued and processing ones wait for an
//! operator (manual script). Seeded videos cost nothing.

use futures::stream::{self, StreamExt, TryStreamExt};

use super::ServiceError;
use crate::app::App;
use crate::blobs::Blobs;
use crate::clock::now_ms;
use crate::domain::emulation::Script;
use crate::domain::video::Seed;
use crate::domain::{ObjectId, Video, VideoStatus};
use crate::emulator;

pub const MAX_SEED: usize = 10_000;
/// Records per transaction, and output files staged together.
const CHUNK: usize = 500;
/// Output files uploaded at once.
const UPLOADS: usize = 8;

/// One record to seed, as the admin API reads it.
#[derive(Clone, Debug)]
pub struct SeedItem {
    pub status: VideoStatus,
    pub resolution: String,
    pub video_length: i64,
    pub prompt: String,
    pub image_url: String,
    /// Account-clock milliseconds; default: the account's now.
    pub create_time: Option<i64>,
    pub error_reason: Option<String>,
}

/// Seeds `items` for account `uid`; returns their ids in order.
pub async fn seed(app: &App, uid: i64, items: &[SeedItem]) -> Result<Vec<ObjectId>, ServiceError> {
    if items.is_empty() || items.len() > MAX_SEED {
        return Err(ServiceError::InvalidParam(format!(
            "videos must hold 1 to {MAX_SEED} records, got {}",
            items.len()
        )));
    }
    let model = app.catalogue.single_model();
    for (n, item) in items.iter().enumerate() {
        if model.resolution(&item.resolution).is_none() {
            let known: Vec<&str> = model.resolutions.iter().map(|r| r.value).collect();
            return Err(ServiceError::InvalidParam(format!(
                "videos[{n}].resolution must be one of {known:?}, got {:?}",
                item.resolution
            )));
        }
        if !model.durations.contains(&item.video_length) {
            return Err(ServiceError::InvalidParam(format!(
                "videos[{n}].video_length must be one of {:?}, got {}",
                model.durations, item.video_length
            )));
        }
    }
    let account = app
        .store
        .account(uid)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no account with uid {uid}")))?;
    let now = emulator::account_now(app, uid).await?;
    let mut ids = Vec::with_capacity(items.len());
    for chunk in items.chunks(CHUNK) {
        let videos: Vec<Video> = chunk
            .iter()
            .map(|item| {
                let resolution = model
                    .resolution(&item.resolution)
                    .map(|r| r.resolution)
                    .unwrap_or_else(|| unreachable!("checked above"));
                let mut video = Video::seeded(Seed {
                    uid,
                    team_id: &account.team_id,
                    model,
                    status: item.status,
                    resolution,
                    video_length: item.video_length,
                    prompt: item.prompt.clone(),
                    image_url: item.image_url.clone(),
                    create_time: item.create_time.unwrap_or(now),
                    error_reason: Some(
                        item.error_reason
                            .clone()
                            .unwrap_or_else(|| "seeded as failed".into()),
                    ),
                    blob_key: None,
                });
                if video.status == VideoStatus::Completed {
                    let file = format!("{:016x}", rand::random::<u64>());
                    video.blob_key = Some(Blobs::key_for(&video.id.to_hex(), &file));
                }
                video
            })
            .collect();
        upload_outputs(app, &videos).await?;
        let waiting = Script::manual();
        let scripts = videos
            .iter()
            .map(|v| v.status.is_unfinished().then(|| waiting.clone()))
            .collect();
        ids.extend(videos.iter().map(|v| v.id));
        app.store.seed_videos(uid, videos, scripts).await?;
    }
    tracing::info!(uid, count = ids.len(), "videos seeded");
    Ok(ids)
}

/// Stages, then uploads, the output files of the finished records among `videos`.
async fn upload_outputs(app: &App, videos: &[Video]) -> Result<(), ServiceError> {
    // Owned values: the uploads run as futures that must not borrow across the stream.
    let outputs: Vec<(String, u32, u32, u32)> = videos
        .iter()
        .filter_map(|v| {
            let pixels = v.resolution.pixels();
            let seconds = u32::try_from(v.video_length).unwrap_or(u32::MAX);
            v.blob_key
                .clone()
                .map(|key| (key, pixels.width, pixels.height, seconds))
        })
        .collect();
    if outputs.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = outputs.iter().map(|(key, ..)| key.clone()).collect();
    let grace = app.config.jobs.stage_grace.as_millis() as i64;
    app.store.stage_blobs(&keys, now_ms() + grace).await?;
    // Seeded outputs are stand-ins at the built-in renderer's frame rate, whatever the model.
    let fps = app.config.render.fps;
    stream::iter(outputs)
        .map(|(key, width, height, seconds)| {
            let (clips, blobs) = (app.clips.clone(), app.blobs.clone());
            async move {
                let bytes = clips
                    .get(width, height, seconds, fps)
                    .await
                    .map_err(|e| ServiceError::Internal(format!("making a seeded output: {e}")))?;
                blobs
                    .put(&key, bytes)
                    .await
                    .map_err(|e| ServiceError::Internal(format!("storing a seeded output: {e}")))
            }
        })
        .buffer_unordered(UPLOADS)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
