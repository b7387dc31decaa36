//! What unknown routes (404) and wrong methods (405) answer: axum's fallbacks, in the shape of
//! Akool's gateway rather than its `{code, msg}` envelope.

use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::json::json_response;

/// Answer of unknown routes (404) and wrong methods (405).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteError {
    /// The HTTP status again.
    pub code: i64,
    pub msg: String,
    pub status_code: i64,
    pub message: String,
    /// The HTTP reason phrase, e.g. `"Not Found"`.
    #[schema(value_type = String)]
    pub error: &'static str,
}

pub fn route_error(status: StatusCode, message: String) -> Response {
    let body = RouteError {
        code: status.as_u16().into(),
        msg: message.clone(),
        status_code: status.as_u16().into(),
        message,
        error: status.canonical_reason().unwrap_or("Error"),
    };
    json_response(status, &body)
}

pub async fn not_found(method: Method, uri: Uri) -> Response {
    route_error(
        StatusCode::NOT_FOUND,
        format!("Cannot {method} {}", uri.path()),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    route_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {}", uri.path()),
    )
}
