//! The `Caller` extractor. A non-empty `Authorization` header wins over `x-api-key` (Akool's
//! documented precedence): a bad bearer is refused even when a good key is also sent.
//! The intercept layer identifies the caller before the handler runs (faults and the journal are
//! per account) and leaves what it found in the request, so credentials are read once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::error::{ApiError, BAD_TOKEN, UNKNOWN_KEY};
use crate::app::App;
use crate::service::{auth, Caller, ServiceError};
use crate::store::AuthRecord;

/// The account the request's credentials name (banned or not), as the intercept layer found it.
#[derive(Clone)]
pub struct Identified(pub Result<AuthRecord, ApiError>);

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let record = match parts.extensions.remove::<Identified>() {
            Some(Identified(found)) => found?,
            None => identify(&parts.headers, app).await?,
        };
        Ok(auth::admit(record)?)
    }
}

/// The account the credential headers name, whether or not it may call.
pub async fn identify(headers: &HeaderMap, app: &App) -> Result<AuthRecord, ApiError> {
    refuse_repeated_credentials(headers)?;
    let header = |name: &str| headers.get(name).map(|v| v.to_str().map(str::trim));
    match header("authorization") {
        Some(Ok("")) | None => {}
        Some(Ok(value)) => return Ok(auth::identify_by_bearer(app, bearer_token(value)?).await?),
        Some(Err(_)) => return Err(ServiceError::BadToken.into()),
    }
    match header("x-api-key") {
        Some(Ok("")) | None => Err(ServiceError::NoCredentials.into()),
        Some(Ok(key)) => Ok(auth::identify_by_api_key(app, key).await?),
        Some(Err(_)) => Err(ServiceError::UnknownKey.into()),
    }
}

/// A credential header sent twice is refused whatever its values: we would read the first, a
/// proxy or log in front of us may read the last, and the two would disagree on who is calling.
/// This holds even for a repeated `x-api-key` beside a bearer that would otherwise win, and for
/// repeated empty values, so that no reading of the request is ambiguous.
fn refuse_repeated_credentials(headers: &HeaderMap) -> Result<(), ApiError> {
    let repeated = |name: &str| headers.get_all(name).iter().nth(1).is_some();
    let refusal = |code, name| {
        Err(ApiError {
            status: axum::http::StatusCode::OK,
            code,
            msg: format!("more than one {name} header"),
        })
    };
    if repeated("authorization") {
        return refusal(BAD_TOKEN, "Authorization");
    }
    if repeated("x-api-key") {
        return refusal(UNKNOWN_KEY, "x-api-key");
    }
    Ok(())
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
