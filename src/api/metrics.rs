//! `GET /metrics` and the middleware that times every request (the recorder is `crate::metrics`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;

/// Counts and times each request under its matched route template, so ids never become labels.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    crate::metrics::http_request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// Prometheus metrics
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String)),
)]
pub async fn metrics(State(app): State<App>) -> Response {
    match app.store.queue_depth().await {
        Ok((queued, processing)) => crate::metrics::queue_depth(queued, processing),
        Err(e) => tracing::warn!(error = %e, "queue depth unavailable for metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::scrape(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn http_metrics_have_help_once_a_request_was_answered() {
        crate::metrics::init();
        let router = Router::new()
            .route("/probe/{id}", get(|| async { "ok" }))
            .route_layer(axum::middleware::from_fn(track_requests));
        let request = Request::builder()
            .uri("/probe/1234")
            .body(Body::empty())
            .expect("a valid request");
        let response = router.oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), 200);
        let text = crate::metrics::scrape();
        for name in [
            "i2v_http_requests_total",
            "i2v_http_request_duration_seconds",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
        }
        assert!(
            text.contains(r#"route="/probe/{id}""#),
            "the route template, not the path:\n{text}"
        );
    }
}
