//! Akool's task record (spec §3) in the four shapes the endpoints document: the single create
//! answer (§4.2), a batch `successList` item (§5.2), the new record of an audio update, and a
//! results item (§6.2). `Values::of` is the one place a stored video is read; each shape then
//! takes the values it shows.

use crate::blobs::BlobError;
use crate::domain::catalogue::IMAGE_TO_VIDEO;
use crate::domain::{Video, VideoKind, VideoStatus};
use crate::video_urls::VideoUrls;

pub use super::record_shapes::{AudioUpdateVideo, BatchVideo, CreatedVideo, ResultVideo};

/// A stored video's values as the wire spells them.
struct Values {
    id: String,
    create_time: i64,
    update_time: i64,
    uid: i64,
    team_id: String,
    kind: VideoKind,
    status: VideoStatus,
    webhook_url: String,
    resolution: String,
    file_name: String,
    effect_name: String,
    effect_code: String,
    image_url: String,
    last_image_url: String,
    prompt: String,
    negative_prompt: String,
    extend_prompt: bool,
    audio_type: i64,
    audio_url: String,
    generate_audio: bool,
    model_name: String,
    batch_id: Option<String>,
    batch_count: Option<i64>,
    pre_video_id: Option<String>,
    deduction_credit: i64,
    video_duration: Option<f64>,
    error_reason: Option<String>,
}

impl Values {
    fn of(v: &Video) -> Values {
        Values {
            id: v.id.to_hex(),
            create_time: v.create_time,
            update_time: v.update_time,
            uid: v.uid,
            team_id: v.team_id.clone(),
            kind: v.kind,
            status: v.status,
            webhook_url: v.webhook_url.clone(),
            resolution: v.resolution.value().to_owned(),
            file_name: v.file_name.clone(),
            // Akool shows an absent effect or last image as empty text.
            effect_name: v
                .effect
                .as_ref()
                .map_or_else(String::new, |e| e.name.clone()),
            effect_code: v
                .effect
                .as_ref()
                .map_or_else(String::new, |e| e.code.clone()),
            image_url: v.image_url.clone(),
            last_image_url: v.last_image_url.clone().unwrap_or_default(),
            prompt: v.prompt.clone(),
            negative_prompt: v.negative_prompt.clone(),
            extend_prompt: v.extend_prompt,
            audio_type: v.audio_type.code(),
            audio_url: v.audio_url.clone(),
            generate_audio: v.generate_audio,
            model_name: v.model.as_str().to_owned(),
            batch_id: v.batch_id.clone(),
            batch_count: v.batch_count,
            pre_video_id: v.pre_video_id.map(|id| id.to_hex()),
            deduction_credit: v.deduction_credit,
            video_duration: v.video_duration,
            error_reason: v.error_reason.clone(),
        }
    }
}

/// The fields every shape shares, then the shape's own (`record_shapes::video_record!`).
macro_rules! shape {
    ($name:ident, $v:ident, { $($own:tt)* }) => {
        $name {
            id: $v.id,
            create_time: $v.create_time,
            uid: $v.uid,
            team_id: $v.team_id,
            status: $v.status.code(),
            webhook_url: $v.webhook_url,
            resolution: $v.resolution,
            file_name: $v.file_name,
            effect_name: $v.effect_name,
            image_url: $v.image_url,
            prompt: $v.prompt,
            deduction_credit: $v.deduction_credit,
            $($own)*
        }
    };
}

pub fn created(video: &Video) -> CreatedVideo {
    let v = Values::of(video);
    shape!(CreatedVideo, v, {
        negative_prompt: v.negative_prompt,
        extend_prompt: v.extend_prompt,
        audio_type: v.audio_type,
        audio_url: v.audio_url,
        effect_code: v.effect_code,
    })
}

pub fn batch_item(video: &Video) -> BatchVideo {
    let v = Values::of(video);
    shape!(BatchVideo, v, {
        negative_prompt: v.negative_prompt,
        extend_prompt: v.extend_prompt,
        last_image_url: v.last_image_url,
        model_name: v.model_name,
        // A batch video always has both (service::videos::create).
        batch_id: v.batch_id.unwrap_or_default(),
        batch_count: v.batch_count.unwrap_or_default(),
        generate_audio: v.generate_audio,
    })
}

/// The new record an audio update made; `source_duration` is the source video's length.
pub fn audio_update(video: &Video, source_duration: Option<f64>) -> AudioUpdateVideo {
    let v = Values::of(video);
    shape!(AudioUpdateVideo, v, {
        update_time: v.update_time,
        negative_prompt: v.negative_prompt,
        extend_prompt: v.extend_prompt,
        audio_type: v.audio_type,
        audio_url: v.audio_url,
        effect_code: v.effect_code,
        // An audio update always names its source (service::videos::update_audio).
        pre_video_id: v.pre_video_id.unwrap_or_default(),
        only_add_audio: true,
        video_duration: source_duration,
    })
}

/// A results item, with the `video_url` of a completed video resolved first.
pub async fn result(video: &Video, urls: &VideoUrls) -> Result<ResultVideo, BlobError> {
    let video_url = match (video.status, &video.blob_key) {
        (VideoStatus::Completed, Some(key)) => Some(urls.of(key).await?),
        _ => None,
    };
    let v = Values::of(video);
    let batch = v.kind == VideoKind::Batch;
    let failed = v.status == VideoStatus::Failed;
    let reason = v.error_reason.unwrap_or_else(|| "rendering failed".into());
    Ok(shape!(ResultVideo, v, {
        update_time: v.update_time,
        audio_type: v.audio_type,
        audio_url: v.audio_url,
        effect_code: v.effect_code,
        negative_prompt: v.negative_prompt,
        extend_prompt: v.extend_prompt,
        model_name: v.model_name,
        only_add_audio: v.kind == VideoKind::AudioUpdate,
        batch_id: v.batch_id.filter(|_| batch),
        batch_count: v.batch_count.filter(|_| batch),
        last_image_url: batch.then_some(v.last_image_url),
        generate_audio: batch.then_some(v.generate_audio),
        pre_video_id: v.pre_video_id,
        video_duration: v.video_duration,
        sub_type: video_url.is_some().then_some(IMAGE_TO_VIDEO),
        video_url,
        error_reason: failed.then_some(reason),
    }))
}
