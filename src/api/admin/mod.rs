//! `/_admin/v1/*`: operator and emulator controls, mounted only when an admin token is
//! configured, each request carrying `Authorization: Bearer <admin token>`. Answers use the
//! Akool envelope; a missing or wrong admin token is HTTP 401 so that scripts fail loudly.

mod accounts;
mod clock;
mod emulation_views;
mod faults;
mod journal;
mod lifecycle;
mod reset;
mod steering;
mod videos;
mod webhook_faults;
mod webhooks;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::{ApiError, BAD_TOKEN};
use crate::app::App;

pub fn routes(app: App) -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(accounts::create))
        .routes(routes!(accounts::show))
        .routes(routes!(accounts::ban))
        .routes(routes!(accounts::unban))
        .routes(routes!(accounts::add_credits))
        .routes(routes!(accounts::rotate_secret))
        .routes(routes!(videos::set_status))
        .routes(routes!(webhooks::list))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(lifecycle::get_lifecycle, lifecycle::set_lifecycle))
        .routes(routes!(
            lifecycle::push_outcomes,
            lifecycle::get_outcomes,
            lifecycle::clear_outcomes
        ))
        .routes(routes!(
            webhook_faults::get_webhook_faults,
            webhook_faults::set_webhook_faults,
            webhook_faults::clear_webhook_faults
        ))
        .routes(routes!(steering::set_outcome))
        .routes(routes!(steering::advance))
        .routes(routes!(clock::get_clock))
        .routes(routes!(clock::advance_clock))
        .routes(routes!(clock::advance_all))
        .routes(routes!(reset::reset_account))
        .routes(routes!(reset::reset_all))
        .routes(routes!(reset::seed))
        .routes(routes!(
            faults::get_faults,
            faults::set_faults,
            faults::clear_faults
        ))
        .routes(routes!(journal::list, journal::clear))
        .layer(middleware::from_fn_with_state(app, require_admin))
}

pub(crate) async fn require_admin(State(app): State<App>, req: Request, next: Next) -> Response {
    let expected = app
        .config
        .admin_token
        .as_ref()
        .map_or("", |t| t.expose_secret());
    // Two Authorization headers could be read differently by a proxy in front (first or last).
    if req.headers().get_all("authorization").iter().count() > 1 {
        return ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: BAD_TOKEN,
            msg: "more than one Authorization header".into(),
        }
        .into_response();
    }
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    // Comparing digests keeps the comparison time independent of where the strings differ.
    if expected.is_empty() || Sha256::digest(given) != Sha256::digest(expected) {
        return ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: BAD_TOKEN,
            msg: "admin API requires Authorization: Bearer <admin token>".into(),
        }
        .into_response();
    }
    next.run(req).await
}

/// Parses a `{uid}` path segment.
fn parse_uid(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .map_err(|_| ApiError::param(format!("uid must be an integer, got {raw:?}")))
}
