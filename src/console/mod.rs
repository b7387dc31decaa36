//! The web console at `/console/` (`[console] enabled`): server-rendered pages and fragments
//! (askama templates under `templates/console/`) and one small script of our own. No build
//! step, no CDN, a strict Content-Security-Policy.
//!
//! The pages hold nothing secret. The API key (or a token from client id and secret) typed into
//! the login form stays in the tab's `sessionStorage` and goes with each request as a header,
//! exactly as any API client sends it; there is no cookie, so there is nothing for another site
//! to ride on (no CSRF), and credentials never appear in a URL or a log. Every fragment and
//! every action goes through the same extractors and service code as the API: an account sees
//! only its own videos, and a processing video is refused here too.

mod admin;
mod assets;
mod fragments;
mod pages;
mod time;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::App;

/// The console's script and styles come from this server only, and its requests go to this
/// server only; videos and their posters may come from the file storage (presigned S3 URLs).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https: http:; media-src 'self' https: http:; connect-src 'self'; form-action 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The console's routes (all under `/console`), or none when it is turned off.
pub fn routes(app: &App) -> Router<App> {
    if !app.config.console.enabled {
        return Router::new();
    }
    let mut router = Router::new()
        .route("/console", get(pages::to_console))
        .route("/console/", get(pages::account))
        .route("/console/assets/{name}", get(assets::asset))
        .route("/console/fragments/videos", get(fragments::videos))
        .route("/console/fragments/account", get(fragments::account))
        .route("/console/admin", get(admin::page));
    if app.config.admin_token.is_some() {
        router = router.route(
            "/console/fragments/admin/accounts",
            get(admin::accounts).route_layer(axum::middleware::from_fn_with_state(
                app.clone(),
                crate::api::admin::require_admin,
            )),
        );
    }
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}
