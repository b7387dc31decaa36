//! Taking a scripted video's steps: 1 -> 2, then its ending (3 with a real MP4, or 4 with a
//! refund). Every step is fenced in the store (`Emulation::take_step`), so a video deleted,
//! reset, forced or stepped by another process meanwhile is left alone, and an output uploaded
//! for a completion that lost is removed at once (and by the outbox if this process dies first).

use crate::app::App;
use crate::blobs::Blobs;
use crate::clock::now_ms;
use crate::domain::emulation::{Script, Step};
use crate::domain::{ObjectId, Video, VideoStatus};
use crate::store::{ScriptStep, ScriptedVideo};

/// Tries per settle: a video takes at most two steps (start, then its ending), and a try that
/// another process won (the emulator loop of any process may take the same due step) is
/// followed by a fresh read; this bounds the tries when something keeps winning.
const MAX_TRIES: usize = 6;

/// What settling a video did.
#[derive(Debug, Default)]
pub struct Settled {
    /// The video as it is now; `None` when it is gone.
    pub video: Option<Video>,
    pub steps: usize,
}

/// Takes every step of video `id` that is due now on its account's clock.
pub async fn settle(app: &App, id: ObjectId) -> anyhow::Result<Settled> {
    let mut steps = 0;
    for _ in 0..MAX_TRIES {
        let Some(scripted) = app.store.scripted(id).await? else {
            return Ok(Settled { video: None, steps });
        };
        let now = super::account_now(app, scripted.video.uid).await?;
        let due = scripted
            .script
            .as_ref()
            .and_then(|s| s.due_step(scripted.video.status, scripted.polls, now));
        let Some(step) = due else {
            return Ok(Settled {
                video: Some(scripted.video),
                steps,
            });
        };
        // False: another process took this step meanwhile; the next read shows where it is.
        if take_step(app, &scripted, step, now).await? {
            steps += 1;
        }
    }
    Ok(Settled {
        video: app.store.scripted(id).await?.map(|s| s.video),
        steps,
    })
}

/// Settles the videos whose poll was just counted; the caller reads them again.
pub async fn settle_polled(app: &App, uid: i64, unfinished: &[ObjectId]) -> anyhow::Result<bool> {
    let counted = app.store.count_polls(uid, unfinished).await?;
    let mut moved = false;
    for id in counted {
        moved |= settle(app, id).await?.steps > 0;
    }
    Ok(moved)
}

/// Takes `step` for `scripted` at account time `now`; false when the video was no longer where
/// the step starts.
pub async fn take_step(
    app: &App,
    scripted: &ScriptedVideo,
    step: Step,
    now: i64,
) -> anyhow::Result<bool> {
    let video = &scripted.video;
    let script = scripted.script.as_ref();
    let taken = match step {
        Step::Start => {
            let due_at = script.and_then(|s| s.due_at(VideoStatus::Processing, now));
            app.store
                .take_step(video.id, ScriptStep::Start { due_at }, now)
                .await?
        }
        Step::Fail(reason) => {
            app.store
                .take_step(video.id, ScriptStep::Fail { reason }, now)
                .await?
        }
        Step::Complete => complete(app, video, now).await?,
    };
    if taken {
        tracing::info!(video = %video.id, uid = video.uid, status = ?next_status(script, video.status), "emulated step");
    }
    Ok(taken)
}

fn next_status(script: Option<&Script>, from: VideoStatus) -> VideoStatus {
    match (from, script.map(|s| s.ending)) {
        (VideoStatus::Queued, _) => VideoStatus::Processing,
        (_, Some(crate::domain::emulation::Ending::Fail)) => VideoStatus::Failed,
        _ => VideoStatus::Completed,
    }
}

/// 2 -> 3 with a real MP4 of the video's size and length: staged, uploaded, then completed, as a
/// worker does (`jobs::worker::finish`).
async fn complete(app: &App, video: &Video, now: i64) -> anyhow::Result<bool> {
    let pixels = video.resolution.pixels();
    let (width, height) = (pixels.width, pixels.height);
    let seconds = u32::try_from(video.video_length.max(1)).unwrap_or(u32::MAX);
    let bytes = match app
        .clips
        .get(width, height, seconds, app.config.render.fps)
        .await
    {
        Ok(bytes) => bytes,
        // No output can be made here (e.g. no ffmpeg): fail it with refund, as a render would,
        // instead of retrying forever. The reason is safe to show (no paths, no stderr).
        Err(e) => {
            tracing::warn!(video = %video.id, error = %e, "cannot make an emulated output");
            let reason = e.to_string();
            return Ok(app
                .store
                .take_step(video.id, ScriptStep::Fail { reason }, now)
                .await?);
        }
    };
    let key = Blobs::key_for(
        &video.id.to_hex(),
        &format!("{:016x}", rand::random::<u64>()),
    );
    let grace = app.config.jobs.stage_grace.as_millis() as i64;
    app.store.stage_blob(&key, now_ms() + grace).await?;
    app.blobs.put(&key, bytes).await?;
    let step = ScriptStep::Complete {
        blob_key: key.clone(),
        video_duration: seconds as f64,
    };
    let taken = app.store.take_step(video.id, step, now).await?;
    if !taken {
        // Deleted, reset or moved meanwhile: the file must not outlive this moment. Its outbox
        // row goes after it (a crash between leaves the row, and the sweeper a no-op).
        app.blobs.delete(&key).await?;
        app.store.unstage_blob(&key).await?;
    }
    Ok(taken)
}
