//! Akool's success envelope, `{code: 1000, msg, data}`, and what a handler returns: the envelope
//! or an `ApiError` (`{code, msg}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::error::{coded, ApiError, ErrorBody, OK};
use super::json::json_response;
use super::openapi::formats::integer_enum;

pub type ApiResult<T> = Result<Success<T>, ApiError>;

pub fn success_code() -> Object {
    integer_enum(&[OK], "1000: success")
}

/// Akool's success envelope.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Success<T> {
    #[schema(schema_with = success_code)]
    pub code: i64,
    /// `"OK"`, `"Success"` (effects) or `"Delete successfully"` (delbyids).
    #[schema(value_type = String)]
    pub msg: &'static str,
    pub data: T,
}

/// `{code: 1000, msg, data}`.
pub fn ok<T>(msg: &'static str, data: T) -> Success<T> {
    Success {
        code: OK,
        msg,
        data,
    }
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        coded(json_response(StatusCode::OK, &self), self.code)
    }
}

// The schema of an `ApiResult<T>`: handlers build its arms (`Success`, or `ErrorBody` through
// `ApiError`), never this union itself.
/// Every Akool route answers HTTP 200 with either the success envelope or an error body: read
/// `code`, not the HTTP status.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum Answer<T> {
    Success(Success<T>),
    Error(ErrorBody),
}
