//! THE table: every error a client can see, with its Akool `code`, `msg` and HTTP status.
//! Business errors on known routes are HTTP 200 (Akool clients read `code`, and Akool's demo
//! treats a non-2xx answer as a network failure). Internal details are logged here, once, and
//! never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::json::json_response;
use super::openapi::formats::integer_enum;
use crate::service::ServiceError;

pub const OK: i64 = 1000;
pub const PARAM_ERROR: i64 = 1003;
pub const NOT_FOUND: i64 = 1008;
pub const CANNOT_OPERATE: i64 = 1010;
pub const BAD_TOKEN: i64 = 1101;
pub const NO_CREDENTIALS: i64 = 1102;
pub const INSUFFICIENT_CREDITS: i64 = 1104;
pub const UNKNOWN_KEY: i64 = 1109;
pub const BANNED: i64 = 1200;
pub const SERVER_ERROR: i64 = 2001;

/// Every failure `code` a client can see and what it means; the OpenAPI document lists these.
pub const ERROR_CODES: &[(i64, &str)] = &[
    (PARAM_ERROR, "parameter error; `msg` names the field"),
    (NOT_FOUND, "content does not exist"),
    (
        CANNOT_OPERATE,
        "content cannot be operated (e.g. its status does not allow it)",
    ),
    (
        BAD_TOKEN,
        "invalid or expired bearer token, or wrong clientId/clientSecret",
    ),
    (
        NO_CREDENTIALS,
        "neither Authorization nor x-api-key was sent",
    ),
    (INSUFFICIENT_CREDITS, "insufficient credit balance"),
    (UNKNOWN_KEY, "unknown API key"),
    (BANNED, "account banned"),
    (
        SERVER_ERROR,
        "server error (details are logged, never sent)",
    ),
];

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: String,
}

impl ApiError {
    pub fn param(msg: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::OK,
            code: PARAM_ERROR,
            msg: msg.into(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let code = match &e {
            ServiceError::NoCredentials => NO_CREDENTIALS,
            ServiceError::BadToken | ServiceError::BadClientCredentials => BAD_TOKEN,
            ServiceError::UnknownKey => UNKNOWN_KEY,
            ServiceError::Banned => BANNED,
            ServiceError::InvalidParam(_) => PARAM_ERROR,
            ServiceError::InsufficientCredits { .. } => INSUFFICIENT_CREDITS,
            ServiceError::NotFound(_) => NOT_FOUND,
            ServiceError::CannotOperate(_) => CANNOT_OPERATE,
            ServiceError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                return ApiError {
                    status: StatusCode::OK,
                    code: SERVER_ERROR,
                    msg: "Server error, please try again later".into(),
                };
            }
        };
        ApiError {
            status: StatusCode::OK,
            code,
            msg: e.to_string(),
        }
    }
}

impl From<crate::domain::fields::FieldError> for ApiError {
    fn from(e: crate::domain::fields::FieldError) -> Self {
        ApiError::param(e.0)
    }
}

impl From<crate::domain::IdListError> for ApiError {
    fn from(e: crate::domain::IdListError) -> Self {
        ApiError::param(e.to_string())
    }
}

fn error_code() -> Object {
    let codes: Vec<i64> = ERROR_CODES.iter().map(|(code, _)| *code).collect();
    let meanings: Vec<String> = ERROR_CODES
        .iter()
        .map(|(code, meaning)| format!("{code}: {meaning}"))
        .collect();
    integer_enum(&codes, &meanings.join("; "))
}

/// A business failure: HTTP 200 (413 for a body over the size cap) with a non-1000 `code`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    #[schema(schema_with = error_code)]
    pub code: i64,
    /// What went wrong, in English.
    pub msg: String,
}

/// The Akool `code` an answer carries, kept in its extensions so that middleware (the request
/// journal) knows it without reading the body again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AkoolCode(pub i64);

/// `response`, marked with the Akool `code` its body holds.
pub fn coded(mut response: Response, code: i64) -> Response {
    response.extensions_mut().insert(AkoolCode(code));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            msg: self.msg,
        };
        coded(json_response(self.status, &body), body.code)
    }
}
