//! Admin (emulator controls): account clocks.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::parse_uid;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::fields::Fields;
use crate::service::emulation::{self, ClockMove, ClockView};

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// The account's now, epoch milliseconds.
    pub now_ms: i64,
    /// How far the account's clock is ahead of the server's.
    pub offset_ms: i64,
}

impl From<ClockView> for Clock {
    fn from(view: ClockView) -> Self {
        Clock {
            now_ms: view.now_ms,
            offset_ms: view.offset_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClocksMoved {
    pub accounts: u64,
}

/// An account's clock
#[utoipa::path(
    get,
    path = "/accounts/{uid}/clock",
    operation_id = "adminGetClock",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<Clock>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn get_clock(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<Clock> {
    let view = emulation::clock(&app, parse_uid(&uid)?).await?;
    Ok(ok("OK", view.into()))
}

/// Move an account's clock forward; answers once what became due is applied
#[utoipa::path(
    post,
    path = "/accounts/{uid}/clock/advance",
    operation_id = "adminAdvanceClock",
    tag = "admin",
    request_body = doc::ClockAdvance,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The clock after the move, or an error `code`", body = Answer<Clock>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn advance_clock(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Clock> {
    let uid = parse_uid(&uid)?;
    let f = Fields::of(&body)?;
    only_fields(&body, &["ms", "to_ms"])?;
    let to = match (f.int("ms")?, f.int("to_ms")?) {
        (Some(ms), None) => ClockMove::By(ms),
        (None, Some(to)) => ClockMove::To(to),
        _ => return Err(ApiError::param("give exactly one of ms and to_ms")),
    };
    let view = emulation::advance_clock(&app, uid, to).await?;
    Ok(ok("OK", view.into()))
}

/// Move every account's clock forward; answers once what became due is applied
#[utoipa::path(
    post,
    path = "/clock/advance",
    operation_id = "adminAdvanceAllClocks",
    tag = "admin",
    request_body = doc::ClockAdvanceAll,
    responses(
        (status = 200, description = "How many accounts moved, or an error `code`", body = Answer<ClocksMoved>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn advance_all(
    State(app): State<App>,
    JsonBody(body): JsonBody,
) -> ApiResult<ClocksMoved> {
    only_fields(&body, &["ms"])?;
    let ms = Fields::of(&body)?.required_int("ms")?;
    let accounts = emulation::advance_all_clocks(&app, ms).await?;
    Ok(ok("OK", ClocksMoved { accounts }))
}

/// Refuses fields the route does not know: a typo must not turn into "moved by nothing".
pub(super) fn only_fields(body: &serde_json::Value, known: &[&str]) -> Result<(), ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::param("body must be a JSON object"));
    };
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::param(format!(
            "unknown field {unknown:?}; expected {known:?}"
        ))),
        None => Ok(()),
    }
}
