//! HTTP: the only module that knows axum and the Akool envelope.

mod admin;
mod akool;
mod auth;
mod body;
pub mod error;
mod files;

pub use files::video_url;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::app::App;

pub fn router(app: App) -> Router {
    crate::metrics::init();
    let body_limit = app.config.limits.max_body_bytes;
    let mut router = Router::new()
        .merge(akool::routes())
        .merge(files::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render));
    if app.config.admin_token.is_some() {
        router = router.nest("/_admin/v1", admin::routes(app.clone()));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .route_layer(axum::middleware::from_fn(crate::metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

async fn readyz(State(app): State<App>) -> Response {
    match app.store.ping().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "store unreachable" })),
            )
                .into_response()
        }
    }
}

fn route_error(status: StatusCode, message: String) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = json!({
        "code": status.as_u16(),
        "msg": message,
        "statusCode": status.as_u16(),
        "message": message,
        "error": reason,
    });
    (status, Json(body)).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    route_error(
        StatusCode::NOT_FOUND,
        format!("Cannot {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    route_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {}", uri.path()),
    )
}
