//! The console's script and style sheet, compiled into the binary.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::params::PathParams;

const SCRIPT: &str = include_str!("assets/console.js");
const ADMIN_SCRIPT: &str = include_str!("assets/admin.js");
const COMMON_SCRIPT: &str = include_str!("assets/common.js");
const STYLE: &str = include_str!("assets/console.css");

pub async fn asset(PathParams(name): PathParams<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "admin.js" => (ADMIN_SCRIPT, "text/javascript; charset=utf-8"),
        "common.js" => (COMMON_SCRIPT, "text/javascript; charset=utf-8"),
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
