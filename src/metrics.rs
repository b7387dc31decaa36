//! Prometheus metrics: one process-wide recorder, rendered at `GET /metrics`.
//!
//! Names: `i2v_http_requests_total{route,method,status}`,
//! `i2v_http_request_duration_seconds{route,method}`, `i2v_videos{status="queued"|"processing"}`
//! (read from the store at scrape time), `i2v_renders_total{outcome}`,
//! `i2v_webhook_attempts_total{outcome}`. Routes are the matched route templates, never raw
//! paths, so ids never become labels.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::app::App;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder on first use; `None` if another recorder was installed first.
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|()| handle)
        })
        .as_ref()
}

/// Makes sure the recorder exists before anything is counted.
pub fn init() {
    let _ = handle();
}

/// How often recorded histogram samples are folded into their summaries.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds recorded histogram samples into their summaries every few seconds until `stop`. The
/// recorder keeps every raw sample until then, so without this a server nobody scrapes grows by
/// a few bytes per request, forever.
pub async fn run_upkeep(stop: tokio_util::sync::CancellationToken) {
    crate::periodic::every(UPKEEP_INTERVAL, stop, || async {
        if let Some(handle) = handle() {
            handle.run_upkeep();
        }
    })
    .await
}

pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("i2v_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("i2v_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

pub async fn render(State(app): State<App>) -> Response {
    match app.store.queue_depth().await {
        Ok((queued, processing)) => {
            metrics::gauge!("i2v_videos", "status" => "queued").set(queued as f64);
            metrics::gauge!("i2v_videos", "status" => "processing").set(processing as f64);
        }
        Err(e) => tracing::warn!(error = %e, "queue depth unavailable for metrics"),
    }
    let body = handle().map(|h| h.render()).unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

pub fn render_outcome(outcome: &'static str) {
    metrics::counter!("i2v_renders_total", "outcome" => outcome).increment(1);
}

pub fn webhook_outcome(outcome: &'static str) {
    metrics::counter!("i2v_webhook_attempts_total", "outcome" => outcome).increment(1);
}
