//! Admin: force a video's status (hold as processing, re-queue, fail with refund).

use axum::extract::State;
use serde_json::json;

use crate::api::body::JsonBody;
use crate::api::error::{ok, ApiResult};
use crate::api::openapi::admin as doc;
use crate::api::openapi::schemas::Answer;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::fields::Fields;
use crate::service::videos;

/// Force a video's status
#[utoipa::path(
    post,
    path = "/videos/{id}/status",
    operation_id = "adminSetVideoStatus",
    tag = "admin",
    request_body = doc::ForceStatus,
    params(("id" = String, Path, description = "The video's `_id`")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<doc::StatusForced>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn set_status(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let f = Fields::of(&body)?;
    let status = f.required_int("status")?;
    let reason = f.string("reason")?.filter(|r| !r.trim().is_empty());
    let video = videos::force_status(&app, &id, status, reason).await?;
    Ok(ok(
        "OK",
        json!({ "_id": video.id, "status": video.status.code() }),
    ))
}
