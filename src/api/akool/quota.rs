//! `GET /api/open/v3/faceswap/quota/info`: the caller's credit balance.

use axum::extract::State;
use serde_json::json;

use crate::api::error::{ok, ApiResult};
use crate::api::openapi::schemas::{Answer, Quota};
use crate::app::App;
use crate::service::{Caller, ServiceError};

/// Credit balance
#[utoipa::path(
    get,
    path = "/api/open/v3/faceswap/quota/info",
    operation_id = "quotaInfo",
    tag = "auth",
    responses((status = 200, description = "`data.credit`, or an error `code`", body = Answer<Quota>)),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn quota_info(State(app): State<App>, caller: Caller) -> ApiResult {
    let account = app
        .store
        .account(caller.uid)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::UnknownKey)?;
    Ok(ok("OK", json!({ "credit": account.credits })))
}
