//! Admin (emulator controls): one video's outcome, and moving it one step.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::emulation_views::OutcomeView;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::emulation::Outcome;
use crate::service::emulation;

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoOutcome {
    #[serde(rename = "_id")]
    pub id: String,
    /// The status after the steps that were due at once.
    pub status: i64,
    pub outcome: OutcomeView,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoStep {
    #[serde(rename = "_id")]
    pub id: String,
    pub status: i64,
}

/// Set an unfinished video's outcome
#[utoipa::path(
    put,
    path = "/videos/{id}/outcome",
    operation_id = "adminSetVideoOutcome",
    tag = "admin",
    request_body = doc::Outcome,
    params(("id" = String, Path, description = "The video's `_id`")),
    responses(
        (status = 200, description = "The result, or an error `code` (1010: finished)", body = Answer<VideoOutcome>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn set_outcome(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<VideoOutcome> {
    let outcome = Outcome::from_json(&body).map_err(ApiError::param)?;
    let (video, script) = emulation::set_outcome(&app, &id, &outcome).await?;
    let shown = Outcome {
        after_ms: outcome.after_ms,
        after_polls: outcome.after_polls,
        ..script.outcome()
    };
    Ok(ok(
        "OK",
        VideoOutcome {
            id: video.id.to_hex(),
            status: video.status.code(),
            outcome: OutcomeView::from(&shown),
        },
    ))
}

/// Move an unfinished video one step (1 -> 2 -> its ending)
#[utoipa::path(
    post,
    path = "/videos/{id}/advance",
    operation_id = "adminAdvanceVideo",
    tag = "admin",
    params(("id" = String, Path, description = "The video's `_id`")),
    responses(
        (status = 200, description = "The result, or an error `code` (1010: finished)", body = Answer<VideoStep>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn advance(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
) -> ApiResult<VideoStep> {
    let video = emulation::advance(&app, &id).await?;
    Ok(ok(
        "OK",
        VideoStep {
            id: video.id.to_hex(),
            status: video.status.code(),
        },
    ))
}
