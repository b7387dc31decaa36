//! Admin (emulator controls): an account's lifecycle and its queue of scripted outcomes.

use axum::extract::State;
use serde_json::Value;

use super::emulation_views::{LifecycleView, OutcomeQueue};
use super::parse_uid;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::emulation::{Lifecycle, Outcome};
use crate::service::emulation;

/// The lifecycle an account's new videos follow
#[utoipa::path(
    get,
    path = "/accounts/{uid}/lifecycle",
    operation_id = "adminGetLifecycle",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<LifecycleView>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn get_lifecycle(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<LifecycleView> {
    let lifecycle = emulation::lifecycle(&app, parse_uid(&uid)?).await?;
    Ok(ok("OK", LifecycleView::from(&lifecycle)))
}

/// Set the lifecycle of an account's new videos
#[utoipa::path(
    put,
    path = "/accounts/{uid}/lifecycle",
    operation_id = "adminSetLifecycle",
    tag = "admin",
    request_body = doc::Lifecycle,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<LifecycleView>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn set_lifecycle(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<LifecycleView> {
    let uid = parse_uid(&uid)?;
    let lifecycle = Lifecycle::from_json(&body).map_err(ApiError::param)?;
    let lifecycle = emulation::set_lifecycle(&app, uid, lifecycle).await?;
    Ok(ok("OK", LifecycleView::from(&lifecycle)))
}

/// Reads `{"outcomes": [..]}`.
pub(super) fn outcomes_of(body: &Value) -> Result<Vec<Outcome>, ApiError> {
    let list = body
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("outcomes"))
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::param("body must be {\"outcomes\": [outcome, ...]}"))?;
    if list.is_empty() || list.len() > MAX_OUTCOMES {
        return Err(ApiError::param(format!(
            "outcomes must hold 1 to {MAX_OUTCOMES} outcomes"
        )));
    }
    list.iter()
        .enumerate()
        .map(|(n, o)| {
            Outcome::from_json(o).map_err(|e| ApiError::param(format!("outcomes[{n}]: {e}")))
        })
        .collect()
}

/// Outcomes one call may queue.
const MAX_OUTCOMES: usize = 10_000;

/// Queue outcomes for the account's next videos
#[utoipa::path(
    post,
    path = "/accounts/{uid}/outcomes",
    operation_id = "adminPushOutcomes",
    tag = "admin",
    request_body = doc::Outcomes,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The queue after the call, or an error `code`", body = Answer<OutcomeQueue>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn push_outcomes(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<OutcomeQueue> {
    let uid = parse_uid(&uid)?;
    let outcomes = outcomes_of(&body)?;
    let queue = emulation::push_outcomes(&app, uid, &outcomes).await?;
    Ok(ok("OK", OutcomeQueue::of(&queue)))
}

/// The outcomes still queued for the account's next videos
#[utoipa::path(
    get,
    path = "/accounts/{uid}/outcomes",
    operation_id = "adminGetOutcomes",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<OutcomeQueue>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn get_outcomes(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<OutcomeQueue> {
    let queue = emulation::outcomes(&app, parse_uid(&uid)?).await?;
    Ok(ok("OK", OutcomeQueue::of(&queue)))
}

/// Clear the account's outcome queue
#[utoipa::path(
    delete,
    path = "/accounts/{uid}/outcomes",
    operation_id = "adminClearOutcomes",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<OutcomeQueue>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn clear_outcomes(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<OutcomeQueue> {
    emulation::clear_outcomes(&app, parse_uid(&uid)?).await?;
    Ok(ok("OK", OutcomeQueue::of(&[])))
}
