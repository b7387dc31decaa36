//! Admin: force a video's status (hold as processing, re-queue, fail with refund).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::fields::Fields;
use crate::service::videos;

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusForced {
    #[serde(rename = "_id")]
    pub id: String,
    pub status: i64,
}

/// Force a video's status
#[utoipa::path(
    post,
    path = "/videos/{id}/status",
    operation_id = "adminSetVideoStatus",
    tag = "admin",
    request_body = doc::ForceStatus,
    params(("id" = String, Path, description = "The video's `_id`")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<StatusForced>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn set_status(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusForced> {
    let f = Fields::of(&body)?;
    let status = f.required_int("status")?;
    let reason = f.string("reason")?.filter(|r| !r.trim().is_empty());
    let video = videos::force_status(&app, &id, status, reason).await?;
    Ok(ok(
        "OK",
        StatusForced {
            id: video.id.to_hex(),
            status: video.status.code(),
        },
    ))
}
