//! HTTP: the only module that knows axum and the Akool envelope.

mod admin;
mod akool;
mod auth;
mod body;
pub mod error;
mod files;
mod metrics;
pub mod openapi;
mod params;
pub mod sample_image;
pub mod server;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde_json::json;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

pub fn router(app: App) -> Router {
    crate::metrics::init();
    let body_limit = app.config.limits.max_body_bytes;
    let (router, document) = documented_routes(&app).split_for_parts();
    router
        .layer(Extension(openapi::Document::new(&document)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .route_layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Every route, each with its OpenAPI operation: `routes!` registers both at once.
fn documented_routes(app: &App) -> OpenApiRouter<App> {
    let mut router = OpenApiRouter::with_openapi(openapi::base())
        .merge(akool::routes())
        .merge(files::routes())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json));
    if app.config.admin_token.is_some() {
        router = router.nest("/_admin/v1", admin::routes(app.clone()));
    }
    router
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct Health {
    /// `ok`, `ready` or `store unreachable`.
    status: String,
}

/// Process is up
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    responses((status = 200, description = "Always `{\"status\": \"ok\"}`", body = Health)),
)]
async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// Store is reachable
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = Health),
        (status = 503, description = "`{\"status\": \"store unreachable\"}`", body = Health),
    ),
)]
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
