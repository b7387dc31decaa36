//! Request bodies of the Akool routes, as OpenAPI schemas (never constructed; the handlers read
//! JSON values through `domain::fields`). Like Akool's own clients expect: integer fields also
//! take numeric strings, `""` and `null` mean "not given" for optional fields, and unknown
//! fields are ignored.
#![allow(dead_code)]

use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::formats::{integer_enum, string_enum};

fn single_resolution() -> Object {
    string_enum(&["720p", "1080p", "4k"], "Output resolution")
}

fn single_length() -> Object {
    integer_enum(&[5, 10], "Seconds of video")
}

fn create_audio_type() -> Object {
    integer_enum(
        &[1, 2, 3],
        "1 generated, 2 from `audio_url` (then required), 3 none",
    )
}

fn update_audio_type() -> Object {
    integer_enum(&[1, 2], "1 generated, 2 from `audio_url` (then required)")
}

/// `POST /api/open/v3/getToken`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"clientId": "65f0c0ffee0123456789abcd", "clientSecret": "<API key>"})))]
pub struct TokenRequest {
    pub client_id: String,
    /// The API key.
    pub client_secret: String,
}

/// `POST /api/open/v4/image2Video/createBySourcePrompt`: Akool's original parameter set.
#[derive(ToSchema)]
#[schema(examples(json!({
    "image_url": "https://example.com/in/beach.png",
    "prompt": "Waves crash along shore while the camera drifts.",
    "negative_prompt": "",
    "resolution": "720p",
    "audio_type": 3,
    "video_length": 5
})))]
pub struct CreateSingleRequest {
    /// Absolute http(s) URL of the picture to animate.
    pub image_url: String,
    /// Motion description, at most 5000 characters; required unless `effect_code` is given.
    pub prompt: Option<String>,
    /// At most 1000 characters.
    pub negative_prompt: Option<String>,
    pub extend_prompt: Option<bool>,
    #[schema(schema_with = single_resolution)]
    pub resolution: String,
    #[schema(schema_with = create_audio_type)]
    pub audio_type: i64,
    /// Absolute http(s) URL; required when `audio_type` is 2.
    pub audio_url: Option<String>,
    #[schema(schema_with = single_length)]
    pub video_length: i64,
    /// Accepted and stored; it does not change the render.
    pub is_premium_model: Option<bool>,
    /// An `effect_code` of `GET /api/open/v4/image2Video/effects`.
    pub effect_code: Option<String>,
    /// Callback URL for status changes (2, 3, 4); `webhookUrl` is accepted too.
    pub webhookurl: Option<String>,
}

/// `POST /api/open/v4/image2Video/createBySourcePrompt/batch`: model-driven; the resolution and
/// duration must be offered by the model (`GET /api/open/v4/aigModel/list`).
#[derive(ToSchema)]
#[schema(examples(json!({
    "image_url": "https://example.com/in/beach.png",
    "prompt": "Waves crash along shore while the camera drifts.",
    "model_name": "AkoolImage2VideoFastV1",
    "resolution": "720p",
    "video_length": 5,
    "count": 2
})))]
pub struct CreateBatchRequest {
    /// Absolute http(s) URL of the picture to animate.
    pub image_url: String,
    /// Motion description, at most 5000 characters; required unless `effect_code` is given.
    pub prompt: Option<String>,
    /// A model `value`; default: the model with the highest `sort`.
    pub model_name: Option<String>,
    pub negative_prompt: Option<String>,
    /// Honoured only by models with `supportedExtendPrompt`.
    pub extend_prompt: Option<bool>,
    /// A `value` of the model's `resolutionList`.
    pub resolution: String,
    /// A value of the model's `durationList`.
    pub video_length: i64,
    /// Last frame; only for models with `supportedLastFrame`.
    pub last_image_url: Option<String>,
    /// AI soundtrack; only for models whose `generate_audio` is not null (costs more).
    pub generate_audio: Option<bool>,
    /// How many videos, 1 to the model's `maxCount`; default 1.
    #[schema(minimum = 1)]
    pub count: Option<i64>,
    /// Default 3 (none).
    #[schema(schema_with = create_audio_type)]
    pub audio_type: Option<i64>,
    pub audio_url: Option<String>,
    pub effect_code: Option<String>,
    pub is_premium_model: Option<bool>,
    /// One callback URL for every video created; `webhookUrl` is accepted too.
    pub webhookurl: Option<String>,
}

/// `POST .../resultsByIds` and `POST .../delbyids`.
#[derive(ToSchema)]
#[schema(examples(json!({"_ids": "6650aa11bb22cc33dd44ee55,6650aa11bb22cc33dd44ee56"})))]
pub struct IdsRequest {
    /// Comma-separated ids (a JSON string, not an array); spaces trimmed, empty segments
    /// dropped, duplicates reported once; at most `limits.ids_per_call` (100) distinct ids.
    #[serde(rename = "_ids")]
    pub ids: String,
}

/// `POST /api/open/v4/image2Video/updateVideoAudio`: makes a new record with new audio under a
/// completed video.
#[derive(ToSchema)]
#[schema(examples(json!({
    "pre_video_id": "6650aa11bb22cc33dd44ee55",
    "audio_type": 2,
    "audio_url": "https://example.com/in/waves.mp3"
})))]
pub struct UpdateAudioRequest {
    /// `_id` of one of the caller's completed videos.
    pub pre_video_id: String,
    #[schema(schema_with = update_audio_type)]
    pub audio_type: i64,
    /// Absolute http(s) URL; required when `audio_type` is 2.
    pub audio_url: Option<String>,
}
