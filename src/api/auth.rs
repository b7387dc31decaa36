//! The `Caller` extractor. A non-empty `Authorization` header wins over `x-api-key` (Akool's
//! documented precedence): a bad bearer is refused even when a good key is also sent.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::App;
use crate::service::{auth, Caller, ServiceError};

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let header = |name: &str| parts.headers.get(name).map(|v| v.to_str().map(str::trim));
        match header("authorization") {
            Some(Ok("")) | None => {}
            Some(Ok(value)) => return Ok(auth::by_bearer(app, bearer_token(value)?).await?),
            Some(Err(_)) => return Err(ServiceError::BadToken.into()),
        }
        match header("x-api-key") {
            Some(Ok("")) | None => Err(ServiceError::NoCredentials.into()),
            Some(Ok(key)) => Ok(auth::by_api_key(app, key).await?),
            Some(Err(_)) => Err(ServiceError::UnknownKey.into()),
        }
    }
}

/// `Bearer <token>` (scheme case-insensitive); anything else is an invalid authorization.
fn bearer_token(value: &str) -> Result<&str, ApiError> {
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ServiceError::BadToken.into()),
    }
}
