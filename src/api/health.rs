//! `GET /healthz` (the process is up) and `GET /readyz` (the store answers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::json::json_response;
use crate::app::App;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `store unreachable`.
    #[schema(value_type = String)]
    status: &'static str,
}

/// Process is up
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    responses((status = 200, description = "Always `{\"status\": \"ok\"}`", body = Health)),
)]
pub async fn healthz() -> Response {
    json_response(StatusCode::OK, &Health { status: "ok" })
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
pub async fn readyz(State(app): State<App>) -> Response {
    match app.store.ping().await {
        Ok(()) => json_response(StatusCode::OK, &Health { status: "ready" }),
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            let unreachable = Health {
                status: "store unreachable",
            };
            json_response(StatusCode::SERVICE_UNAVAILABLE, &unreachable)
        }
    }
}
