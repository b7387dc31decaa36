//! Request bodies as JSON values, whatever the Content-Type says (clients differ), with Akool
//! errors for every way a body can be wrong and HTTP 413 for one over the size cap.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::Value;

use super::error::ApiError;

pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                unreadable()
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::param("request body must be a JSON object"));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::param(format!("request body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::param("request body must be a JSON object"));
        }
        Ok(JsonBody(value))
    }
}

pub fn too_large() -> ApiError {
    ApiError::param("request body is too large").with_status(StatusCode::PAYLOAD_TOO_LARGE)
}

pub fn unreadable() -> ApiError {
    ApiError::param("request body could not be read")
}

/// The `_ids` field of resultsByIds/delbyids: must be present and a JSON string.
pub fn ids_field(body: &Value) -> Result<&str, ApiError> {
    match body.get("_ids") {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(ApiError::param("_ids is required")),
        Some(_) => Err(ApiError::param(
            "_ids must be a string of comma-separated ids, e.g. \"id1,id2\"",
        )),
    }
}
