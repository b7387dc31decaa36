//! `GET /api/open/v3/faceswap/quota/info`: the caller's credit balance.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::answer::{ok, Answer, ApiResult};
use crate::app::App;
use crate::service::{Caller, ServiceError};

/// `quota/info` data.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Credit balance.
    pub credit: i64,
}

/// Credit balance
#[utoipa::path(
    get,
    path = "/api/open/v3/faceswap/quota/info",
    operation_id = "quotaInfo",
    tag = "auth",
    responses((status = 200, description = "`data.credit`, or an error `code`", body = Answer<Quota>)),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn quota_info(State(app): State<App>, caller: Caller) -> ApiResult<Quota> {
    let account = app
        .store
        .account(caller.uid)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::UnknownKey)?;
    Ok(ok(
        "OK",
        Quota {
            credit: account.credits,
        },
    ))
}
