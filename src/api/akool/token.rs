//! `POST /api/open/v3/getToken`: the token is top-level, not under `data` (spec §2.4).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::api::body::JsonBody;
use crate::api::error::{ApiResult, OK};
use crate::api::openapi::requests::TokenRequest;
use crate::api::openapi::schemas::TokenAnswer;
use crate::app::App;
use crate::domain::fields::Fields;
use crate::service::auth;

/// Exchange clientId/clientSecret for a bearer token
///
/// Answers `{code: 1000, token}` (top-level token, no `data`), or `{code, msg}`.
#[utoipa::path(
    post,
    path = "/api/open/v3/getToken",
    operation_id = "getToken",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The token, or an error `code`", body = TokenAnswer),
        (status = 413, response = crate::api::openapi::TooLarge),
    ),
)]
pub async fn get_token(State(app): State<App>, JsonBody(body): JsonBody) -> ApiResult {
    let f = Fields::of(&body)?;
    let client_id = f.required_string("clientId")?;
    let client_secret = f.required_string("clientSecret")?;
    let token = auth::issue_token(&app, client_id, client_secret).await?;
    Ok(Json(json!({ "code": OK, "token": token })).into_response())
}
