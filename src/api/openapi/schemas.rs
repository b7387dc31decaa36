//! The wire shapes of the Akool routes, as OpenAPI schemas. Handlers build their JSON directly,
//! so these types are never constructed: they only describe it, and `tests/api/openapi.rs`
//! checks real answers against them. Records deny unknown fields so a field added to an answer
//! without being documented here fails that test.
#![allow(dead_code)]

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use crate::api::error::{ERROR_CODES, OK};

fn integer_enum(values: &[i64], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn object_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{24}$"))
        .description(Some("An ObjectId: 24 lower-case hex digits"))
        .build()
}

fn success_code() -> Object {
    integer_enum(&[OK], "1000: success")
}

fn error_code() -> Object {
    let codes: Vec<i64> = ERROR_CODES.iter().map(|(code, _)| *code).collect();
    let meanings: Vec<String> = ERROR_CODES
        .iter()
        .map(|(code, meaning)| format!("{code}: {meaning}"))
        .collect();
    integer_enum(&codes, &meanings.join("; "))
}

fn video_status() -> Object {
    integer_enum(
        &[1, 2, 3, 4],
        "1 queued, 2 processing, 3 completed (`video_url` set), 4 failed (`error_reason` set)",
    )
}

fn audio_type() -> Object {
    integer_enum(&[1, 2, 3], "1 generated, 2 from `audio_url`, 3 none")
}

/// A business failure: HTTP 200 (413 for a body over the size cap) with a non-1000 `code`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    #[schema(schema_with = error_code)]
    pub code: i64,
    /// What went wrong, in English.
    pub msg: String,
}

/// Akool's success envelope.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Success<T> {
    #[schema(schema_with = success_code)]
    pub code: i64,
    /// `"OK"`, `"Success"` (effects) or `"Delete successfully"` (delbyids).
    pub msg: String,
    pub data: T,
}

/// Every Akool route answers HTTP 200 with either the success envelope or an error body: read
/// `code`, not the HTTP status.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum Answer<T> {
    Success(Success<T>),
    Error(ErrorBody),
}

/// Answer of unknown routes (404) and wrong methods (405).
#[derive(ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteError {
    /// The HTTP status again.
    pub code: i64,
    pub msg: String,
    pub status_code: i64,
    pub message: String,
    /// The HTTP reason phrase, e.g. `"Not Found"`.
    pub error: String,
}

/// `getToken` success: the token is top-level, not under `data`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIssued {
    #[schema(schema_with = success_code)]
    pub code: i64,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
}

#[derive(ToSchema)]
#[serde(untagged)]
pub enum TokenAnswer {
    Success(TokenIssued),
    Error(ErrorBody),
}

/// Declares a video record: the fields every shape shares, then the shape's own.
macro_rules! video_record {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The video id.
            #[serde(rename = "_id")]
            #[schema(schema_with = object_id)]
            pub id: String,
            /// Epoch milliseconds.
            pub create_time: i64,
            pub uid: i64,
            #[schema(schema_with = object_id)]
            pub team_id: String,
            #[schema(schema_with = video_status)]
            pub status: i64,
            /// The callback URL as stored; `""` when none.
            #[serde(rename = "webhookUrl")]
            pub webhook_url: String,
            /// `720p`, `1080p`, `4k`, ... (a `value` of the model's `resolutionList`).
            pub resolution: String,
            /// `"Image2Video_"` + the first 24 characters of the prompt + `".mp4"`.
            pub file_name: String,
            /// The effect's display name; `""` without an effect.
            pub effect_name: String,
            pub image_url: String,
            pub prompt: String,
            /// Credits charged for this video (0 after a refund of a failed one).
            pub deduction_credit: i64,
            $($extra)*
        }
    };
}

video_record!(
    /// The record `createBySourcePrompt` answers with (status 1).
    CreatedVideo {
        pub negative_prompt: String,
        pub extend_prompt: bool,
        #[schema(schema_with = audio_type)]
        pub audio_type: i64,
        pub audio_url: String,
        /// `""` without an effect.
        pub effect_code: String,
    }
);

video_record!(
    /// One item of a batch create's `successList` (status 1).
    BatchVideo {
        pub negative_prompt: String,
        pub extend_prompt: bool,
        /// `""` when none was requested.
        pub last_image_url: String,
        pub model_name: String,
        /// Shared by the videos of one request.
        pub batch_id: String,
        /// How many videos that request made.
        pub batch_count: i64,
        pub generate_audio: bool,
    }
);

video_record!(
    /// The new record `updateVideoAudio` answers with (status 1, `only_add_audio` true).
    AudioUpdateVideo {
        pub update_time: i64,
        pub negative_prompt: String,
        pub extend_prompt: bool,
        #[schema(schema_with = audio_type)]
        pub audio_type: i64,
        pub audio_url: String,
        pub effect_code: String,
        /// The source video's `_id`.
        #[schema(schema_with = object_id)]
        pub pre_video_id: String,
        pub only_add_audio: bool,
        /// Length of the source video in seconds.
        pub video_duration: f64,
    }
);

video_record!(
    /// One item of `resultsByIds`.
    ResultVideo {
        pub update_time: i64,
        #[schema(schema_with = audio_type)]
        pub audio_type: i64,
        pub audio_url: String,
        pub effect_code: String,
        pub negative_prompt: String,
        pub extend_prompt: bool,
        pub model_name: String,
        /// True for records made by `updateVideoAudio`.
        pub only_add_audio: bool,
        /// Batch videos only.
        pub batch_id: Option<String>,
        /// Batch videos only.
        pub batch_count: Option<i64>,
        /// Batch videos only.
        pub last_image_url: Option<String>,
        /// Batch videos only.
        pub generate_audio: Option<bool>,
        /// Audio-update records only.
        pub pre_video_id: Option<String>,
        /// Seconds of output, once rendered.
        pub video_duration: Option<f64>,
        /// Status 3 only: where to download the MP4.
        pub video_url: Option<String>,
        /// Status 3 only: 1501, the image-to-video model type.
        pub sub_type: Option<i64>,
        /// Status 4 only: why the render failed.
        pub error_reason: Option<String>,
    }
);

/// `createBySourcePrompt/batch` data.
#[derive(ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchCreated {
    pub success_list: Vec<BatchVideo>,
    /// Always empty: a request is validated and charged as a whole, or refused with an error.
    pub error_list: Vec<serde_json::Value>,
}

/// `resultsByIds` data: the caller's videos among the ids, in request order; unknown, deleted
/// and other accounts' ids are left out.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    pub result: Vec<ResultVideo>,
}

/// One id `delbyids` did not delete.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The id as requested (it may not even be a well-formed id).
    #[serde(rename = "_id")]
    pub id: String,
    /// `"video resource is processing, please try again later"` or `"video resource not found"`.
    pub msg: String,
}

/// `delbyids` data: every requested id once, in request order, in exactly one list.
#[derive(ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deleted {
    pub success_ids: Vec<String>,
    pub no_permission_items: Vec<Refusal>,
}

/// `quota/info` data.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Credit balance.
    pub credit: i64,
}

/// One effect preset.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    #[serde(rename = "_id")]
    #[schema(schema_with = object_id)]
    pub id: String,
    pub create_time: i64,
    /// Thumbnail URL; `""` for the built-in effects.
    pub logo: String,
    pub name: String,
    /// Preview clip URL; `""` for the built-in effects.
    pub video_url: String,
    /// Send as `effect_code` when creating.
    pub effect_code: String,
}

/// `image2Video/effects` data.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Effects {
    pub result: Vec<Effect>,
    /// How many effects there are.
    pub count: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionOption {
    pub label: String,
    /// Send as `resolution`.
    pub value: String,
    pub width: i64,
    pub height: i64,
    /// Credits per second of video at this resolution.
    pub unit_credit: i64,
}

/// Present when the model can generate a soundtrack (`generate_audio: true` on batch create).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateAudio {
    #[serde(rename = "type")]
    pub kind: bool,
    pub required: bool,
    pub default: bool,
    /// Price factor when `generate_audio` is requested.
    pub extra_credit_multiplier: f64,
}

/// `aigModel/list` data: an array, highest `sort` first.
#[derive(ToSchema)]
pub struct Models(Vec<Model>);

/// One model of `aigModel/list`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Model {
    pub sort: i64,
    pub group: String,
    pub provider: String,
    /// 1501 (image to video).
    #[serde(rename = "type")]
    pub kind: i64,
    pub label: String,
    /// Send as `model_name`.
    pub value: String,
    pub description: String,
    pub resolution_list: Vec<ResolutionOption>,
    pub is_pro: bool,
    #[serde(rename = "generate_audio")]
    pub generate_audio: Option<GenerateAudio>,
    /// Allowed `video_length` values in seconds.
    pub duration_list: Vec<i64>,
    pub requires_pay: bool,
    /// Whether `last_image_url` is accepted.
    pub supported_last_frame: bool,
    /// Whether `extend_prompt` is honoured.
    pub supported_extend_prompt: bool,
    pub max_image_count: i64,
    /// Largest `count` per batch create.
    pub max_count: i64,
}
