//! Akool's task record (spec §3) in the three shapes the endpoints document: the single create
//! answer (§4.2), a batch `successList` item (§5.2) and a results item (§6.2).

use serde_json::{json, Map, Value};

use crate::blobs::BlobError;
use crate::domain::catalogue::IMAGE_TO_VIDEO;
use crate::domain::{Video, VideoKind, VideoStatus};
use crate::video_urls::VideoUrls;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    Created,
    BatchItem,
    AudioUpdate,
    /// `video_url` is the finished file's URL (see [`result`]).
    Result {
        video_url: Option<&'a str>,
    },
}

/// A results item, with the `video_url` of a completed video resolved first.
pub async fn result(v: &Video, urls: &VideoUrls) -> Result<Value, BlobError> {
    let video_url = match (v.status, &v.blob_key) {
        (VideoStatus::Completed, Some(key)) => Some(urls.of(key).await?),
        _ => None,
    };
    Ok(record(
        v,
        Shape::Result {
            video_url: video_url.as_deref(),
        },
    ))
}

pub fn record(v: &Video, shape: Shape) -> Value {
    // Akool shows an absent effect or last image as empty text.
    let effect_code = v.effect.as_ref().map_or("", |e| e.code.as_str());
    let effect_name = v.effect.as_ref().map_or("", |e| e.name.as_str());
    let last_image_url = v.last_image_url.as_deref().unwrap_or("");
    let mut m = Map::new();
    let mut put = |k: &str, value: Value| {
        m.insert(k.to_owned(), value);
    };
    put("_id", json!(v.id));
    put("create_time", json!(v.create_time));
    put("uid", json!(v.uid));
    put("team_id", json!(v.team_id));
    put("status", json!(v.status.code()));
    put("webhookUrl", json!(v.webhook_url));
    put("resolution", json!(v.resolution.value()));
    put("file_name", json!(v.file_name));
    put("effect_name", json!(effect_name));
    put("image_url", json!(v.image_url));
    put("prompt", json!(v.prompt));
    put("deduction_credit", json!(v.deduction_credit));
    match shape {
        Shape::Created => {
            put("negative_prompt", json!(v.negative_prompt));
            put("extend_prompt", json!(v.extend_prompt));
            put("audio_type", json!(v.audio_type.code()));
            put("audio_url", json!(v.audio_url));
            put("effect_code", json!(effect_code));
        }
        Shape::BatchItem => {
            put("negative_prompt", json!(v.negative_prompt));
            put("extend_prompt", json!(v.extend_prompt));
            put("last_image_url", json!(last_image_url));
            put("model_name", json!(v.model.as_str()));
            put("batch_id", json!(v.batch_id));
            put("batch_count", json!(v.batch_count));
            put("generate_audio", json!(v.generate_audio));
        }
        Shape::AudioUpdate => {
            put("update_time", json!(v.update_time));
            put("negative_prompt", json!(v.negative_prompt));
            put("extend_prompt", json!(v.extend_prompt));
            put("audio_type", json!(v.audio_type.code()));
            put("audio_url", json!(v.audio_url));
            put("effect_code", json!(effect_code));
            put("pre_video_id", json!(v.pre_video_id));
            put("only_add_audio", json!(true));
        }
        Shape::Result { video_url } => {
            put("update_time", json!(v.update_time));
            put("audio_type", json!(v.audio_type.code()));
            put("audio_url", json!(v.audio_url));
            put("effect_code", json!(effect_code));
            put("negative_prompt", json!(v.negative_prompt));
            put("extend_prompt", json!(v.extend_prompt));
            put("model_name", json!(v.model.as_str()));
            put("only_add_audio", json!(v.kind == VideoKind::AudioUpdate));
            if v.kind == VideoKind::Batch {
                put("batch_id", json!(v.batch_id));
                put("batch_count", json!(v.batch_count));
                put("last_image_url", json!(last_image_url));
                put("generate_audio", json!(v.generate_audio));
            }
            if let Some(pre) = &v.pre_video_id {
                put("pre_video_id", json!(pre));
            }
            if let Some(duration) = v.video_duration {
                put("video_duration", json!(duration));
            }
            match (v.status, video_url) {
                (VideoStatus::Completed, Some(url)) => {
                    put("video_url", json!(url));
                    put("sub_type", json!(IMAGE_TO_VIDEO));
                }
                (VideoStatus::Failed, _) => {
                    put(
                        "error_reason",
                        json!(v.error_reason.as_deref().unwrap_or("rendering failed")),
                    );
                }
                _ => {}
            }
        }
    }
    Value::Object(m)
}
