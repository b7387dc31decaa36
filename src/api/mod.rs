//! HTTP: the only module that knows axum and the Akool envelope.

pub(crate) mod admin;
mod akool;
mod answer;
mod auth;
mod body;
pub mod error;
mod fallback;
mod files;
mod health;
pub(crate) mod i2v;
mod intercept;
mod json;
mod metrics;
pub mod openapi;
pub(crate) mod params;
pub mod sample_image;
pub mod server;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

pub fn router(app: App) -> Router {
    crate::metrics::init();
    let body_limit = app.config.limits.max_body_bytes;
    let (router, document) = documented_routes(&app).split_for_parts();
    router
        .merge(crate::console::routes(&app))
        .layer(Extension(openapi::Document::new(&document)))
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .route_layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Every route, each with its OpenAPI operation: `routes!` registers both at once.
fn documented_routes(app: &App) -> OpenApiRouter<App> {
    let mut router = OpenApiRouter::with_openapi(openapi::base())
        .merge(akool::routes(app.clone()))
        .merge(i2v::routes())
        .merge(files::routes())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json));
    if app.config.admin_token.is_some() {
        router = router.nest("/_admin/v1", admin::routes(app.clone()));
    }
    router
}
