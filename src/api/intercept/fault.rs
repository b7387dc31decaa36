//! What an API fault effect answers instead of the real answer (or around it).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::error::{ApiError, ERROR_CODES};
use crate::api::fallback::route_error;
use crate::api::server::CloseWithoutAnswer;

/// `{code, msg}` (HTTP 200) without touching state; the message defaults to the code's meaning.
pub fn code_answer(code: i64, msg: Option<String>) -> Response {
    let msg = msg.unwrap_or_else(|| {
        ERROR_CODES.iter().find(|(c, _)| *c == code).map_or_else(
            || "Server error, please try again later".into(),
            |(_, m)| (*m).to_owned(),
        )
    });
    ApiError {
        status: StatusCode::OK,
        code,
        msg,
    }
    .into_response()
}

/// An HTTP error in the shape of Akool's gateway (like unknown routes), with `Retry-After`.
pub fn http_answer(status: u16, retry_after_s: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = route_error(
        status,
        status
            .canonical_reason()
            .unwrap_or("Service Unavailable")
            .to_owned(),
    );
    if let Some(seconds) = retry_after_s {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    response
}

/// Marks `response` so that the connection closes without sending it.
pub fn close_without_answer(mut response: Response) -> Response {
    response.extensions_mut().insert(CloseWithoutAnswer);
    response
}
