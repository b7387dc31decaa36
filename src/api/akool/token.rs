//! `POST /api/open/v3/getToken`: the token is top-level, not under `data` (spec §2.4).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::answer::success_code;
use crate::api::body::JsonBody;
use crate::api::error::{ApiError, ErrorBody, OK};
use crate::api::json::json_response;
use crate::api::openapi::requests::TokenRequest;
use crate::app::App;
use crate::domain::fields::Fields;
use crate::service::auth;

/// `getToken` success: the token is top-level, not under `data`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIssued {
    #[schema(schema_with = success_code)]
    pub code: i64,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
}

impl IntoResponse for TokenIssued {
    fn into_response(self) -> Response {
        crate::api::error::coded(json_response(StatusCode::OK, &self), self.code)
    }
}

// The schema of `get_token`'s result, whose arms it builds.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum TokenAnswer {
    Success(TokenIssued),
    Error(ErrorBody),
}

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
pub async fn get_token(
    State(app): State<App>,
    JsonBody(body): JsonBody,
) -> Result<TokenIssued, ApiError> {
    let f = Fields::of(&body)?;
    let client_id = f.required_string("clientId")?;
    let client_secret = f.required_string("clientSecret")?;
    let token = auth::issue_token(&app, client_id, client_secret).await?;
    Ok(TokenIssued { code: OK, token })
}
