//! Create (single and batch), resultsByIds and delbyids.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::record::{self, AudioUpdateVideo, BatchVideo, CreatedVideo, ResultVideo};
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::{ids_field, JsonBody};
use crate::api::error::ApiError;
use crate::api::openapi::requests::{
    CreateBatchRequest, CreateSingleRequest, IdsRequest, UpdateAudioRequest,
};
use crate::api::openapi::TooLarge;
use crate::app::App;
use crate::domain::fields::{http_url, Fields};
use crate::domain::spec::AudioType;
use crate::domain::VideoKind;
use crate::domain::{spec, IdList};
use crate::service::videos::{self, DeleteResult, NOT_FOUND_MSG, PROCESSING_MSG};
use crate::service::{Caller, ServiceError};

/// `createBySourcePrompt/batch` data.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchCreated {
    pub success_list: Vec<BatchVideo>,
    /// Always empty: a request is validated and charged as a whole, or refused with an error.
    pub error_list: Vec<serde_json::Value>,
}

/// `resultsByIds` data: the caller's videos among the ids, in request order; unknown, deleted
/// and other accounts' ids are left out.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    pub result: Vec<ResultVideo>,
}

/// One id `delbyids` did not delete.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The id as requested (it may not even be a well-formed id).
    #[serde(rename = "_id")]
    pub id: String,
    /// `"video resource is processing, please try again later"` or `"video resource not found"`.
    #[schema(value_type = String)]
    pub msg: &'static str,
}

/// `delbyids` data: every requested id once, in request order, in exactly one list.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deleted {
    pub success_ids: Vec<String>,
    pub no_permission_items: Vec<Refusal>,
}

/// Create one video
///
/// Charges `deduction_credit` at once; the video is queued (status 1).
#[utoipa::path(
    post,
    path = "/api/open/v4/image2Video/createBySourcePrompt",
    operation_id = "createBySourcePrompt",
    tag = "image2video",
    request_body = CreateSingleRequest,
    responses(
        (status = 200, description = "The new record, or an error `code`", body = Answer<CreatedVideo>,
            links(
                ("results" = (operation_id = "resultsByIds",
                    request_body = json!({"_ids": "$response.body#/data/_id"}))),
                ("delete" = (operation_id = "delbyids",
                    request_body = json!({"_ids": "$response.body#/data/_id"}))),
                ("updateAudio" = (operation_id = "updateVideoAudio",
                    request_body = json!({"pre_video_id": "$response.body#/data/_id", "audio_type": 1}))),
            )),
        (status = 413, response = TooLarge),
    ),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn create_single(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<CreatedVideo> {
    let spec = spec::parse_single(&body, app.catalogue)?;
    let created = videos::create(&app, &caller, &spec, 1, VideoKind::Single).await?;
    let video = created
        .first()
        .ok_or_else(|| ServiceError::Internal("create made no video".into()))?;
    Ok(ok("OK", record::created(video)))
}

/// Create 1 to `maxCount` videos of one model
///
/// Validated and charged as a whole: either every video is created or none is.
#[utoipa::path(
    post,
    path = "/api/open/v4/image2Video/createBySourcePrompt/batch",
    operation_id = "createBySourcePromptBatch",
    tag = "image2video",
    request_body = CreateBatchRequest,
    responses(
        (status = 200, description = "`data.successList`, or an error `code`", body = Answer<BatchCreated>,
            links(
                ("results" = (operation_id = "resultsByIds",
                    request_body = json!({"_ids": "$response.body#/data/successList/0/_id"}))),
                ("delete" = (operation_id = "delbyids",
                    request_body = json!({"_ids": "$response.body#/data/successList/0/_id"}))),
            )),
        (status = 413, response = TooLarge),
    ),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn create_batch(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<BatchCreated> {
    let (spec, count) = spec::parse_batch(&body, app.catalogue)?;
    let created = videos::create(&app, &caller, &spec, count, VideoKind::Batch).await?;
    Ok(ok(
        "OK",
        BatchCreated {
            success_list: created.iter().map(record::batch_item).collect(),
            error_list: Vec::new(),
        },
    ))
}

/// Put new audio under a completed video
///
/// Creates a new record (`only_add_audio` true, `pre_video_id` set); the source is unchanged.
#[utoipa::path(
    post,
    path = "/api/open/v4/image2Video/updateVideoAudio",
    operation_id = "updateVideoAudio",
    tag = "image2video",
    request_body = UpdateAudioRequest,
    responses(
        (status = 200, description = "The new record, or an error `code` (1008 unknown `pre_video_id`, 1010 not completed)", body = Answer<AudioUpdateVideo>),
        (status = 413, response = TooLarge),
    ),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn update_video_audio(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<AudioUpdateVideo> {
    let f = Fields::of(&body)?;
    let pre_video_id = f.required_string("pre_video_id")?;
    let audio_type = match f.required_int("audio_type")? {
        1 => AudioType::Generated,
        2 => AudioType::FromUrl,
        _ => {
            return Err(ApiError::param(
                "audio_type must be 1 (generated) or 2 (from audio_url)",
            ))
        }
    };
    let audio_url = f.string("audio_url")?.unwrap_or("");
    match audio_type {
        AudioType::FromUrl if audio_url.is_empty() => {
            return Err(ApiError::param(
                "audio_url is required when audio_type is 2",
            ))
        }
        AudioType::FromUrl => http_url("audio_url", audio_url, spec::MAX_URL_CHARS)?,
        _ => {}
    }
    let (video, source_duration) =
        videos::update_audio(&app, &caller, pre_video_id, audio_type, audio_url).await?;
    Ok(ok("OK", record::audio_update(&video, source_duration)))
}

/// Videos by id
///
/// The caller's videos among `_ids`, in request order; other ids are left out.
#[utoipa::path(
    post,
    path = "/api/open/v4/image2Video/resultsByIds",
    operation_id = "resultsByIds",
    tag = "image2video",
    request_body = IdsRequest,
    responses(
        (status = 200, description = "`data.result`, or an error `code`", body = Answer<Results>),
        (status = 413, response = TooLarge),
    ),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn results_by_ids(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Results> {
    let ids = IdList::parse(ids_field(&body)?, app.config.limits.ids_per_call)?;
    let found = videos::results(&app, &caller, &ids).await?;
    let mut result = Vec::with_capacity(found.len());
    for v in &found {
        let item = record::result(v, &app.video_urls)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        result.push(item);
    }
    Ok(ok("OK", Results { result }))
}

/// Delete videos by id
///
/// Every id appears once, in request order, in `successIds` or `noPermissionItems`; processing
/// videos are refused. Permanent, never refunded.
#[utoipa::path(
    post,
    path = "/api/open/v4/image2Video/delbyids",
    operation_id = "delbyids",
    tag = "image2video",
    request_body = IdsRequest,
    responses(
        (status = 200, description = "`data.successIds` and `data.noPermissionItems` (`msg` \"Delete successfully\"), or an error `code`", body = Answer<Deleted>),
        (status = 413, response = TooLarge),
    ),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn delete_by_ids(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Deleted> {
    let ids = IdList::parse(ids_field(&body)?, app.config.limits.ids_per_call)?;
    let results = videos::delete(&app, &caller, &ids).await?;
    let mut success_ids = Vec::new();
    let mut refused = Vec::new();
    for result in results {
        match result {
            DeleteResult::Deleted(id) => success_ids.push(id),
            DeleteResult::Processing(id) => refused.push(Refusal {
                id,
                msg: PROCESSING_MSG,
            }),
            DeleteResult::NotFound(id) => refused.push(Refusal {
                id,
                msg: NOT_FOUND_MSG,
            }),
        }
    }
    Ok(ok(
        "Delete successfully",
        Deleted {
            success_ids,
            no_permission_items: refused,
        },
    ))
}
