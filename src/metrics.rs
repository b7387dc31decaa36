//! Prometheus metrics: one process-wide recorder, rendered at `GET /metrics` (served by the api
//! layer, which also times each request; this module only records and renders).
//!
//! Names: `i2v_http_requests_total{route,method,status}`,
//! `i2v_http_request_duration_seconds{route,method}`, `i2v_videos{status="queued"|"processing"}`
//! (read from the store at scrape time), `i2v_renders_total{outcome}`,
//! `i2v_webhook_attempts_total{outcome}`. Routes are the matched route templates, never raw
//! paths, so ids never become labels. Every metric is described (`# HELP`) and every series
//! with known labels is registered at zero when the recorder is installed.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Every `outcome` a render attempt can end with (`i2v_renders_total`).
pub const RENDER_OUTCOMES: [&str; 5] =
    ["completed", "failed", "retry", "lease_lost", "handed_back"];
/// Every `outcome` a webhook attempt can end with (`i2v_webhook_attempts_total`).
pub const WEBHOOK_OUTCOMES: [&str; 4] = ["delivered", "retry", "failed", "skipped"];

/// Installs the recorder on first use; `None` if another recorder was installed first.
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let installed = metrics::set_global_recorder(recorder).ok().map(|()| handle);
            if installed.is_some() {
                describe_and_register();
            }
            installed
        })
        .as_ref()
}

/// Gives every metric its `# HELP` line and registers the series whose labels are known in
/// advance at zero, so a scrape right after start-up already lists them: a dashboard or alert
/// on `rate(i2v_renders_total{outcome="failed"}[5m])` then sees 0, not "no data". The HTTP
/// series are labelled by route and status, so they appear with the first request.
fn describe_and_register() {
    metrics::describe_counter!(
        "i2v_http_requests_total",
        "HTTP requests answered, by matched route template, method and status code."
    );
    metrics::describe_histogram!(
        "i2v_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by matched route template and method."
    );
    metrics::describe_gauge!(
        "i2v_videos",
        "Videos waiting in the queue (status=\"queued\") or being rendered \
         (status=\"processing\"), read from the store at scrape time."
    );
    metrics::describe_counter!(
        "i2v_renders_total",
        "Render attempts by outcome: completed, failed (refunded), retry (passing fault, \
         queued again), lease_lost (the worker lost its claim; nothing written), handed_back \
         (queued again at shutdown)."
    );
    metrics::describe_counter!(
        "i2v_webhook_attempts_total",
        "Webhook delivery attempts by outcome: delivered (2xx), retry (will be tried again), \
         failed (given up), skipped (not sent, e.g. status-2 callbacks when disabled)."
    );
    for status in ["queued", "processing"] {
        metrics::gauge!("i2v_videos", "status" => status).increment(0.0);
    }
    for outcome in RENDER_OUTCOMES {
        metrics::counter!("i2v_renders_total", "outcome" => outcome).increment(0);
    }
    for outcome in WEBHOOK_OUTCOMES {
        metrics::counter!("i2v_webhook_attempts_total", "outcome" => outcome).increment(0);
    }
}

/// Makes sure the recorder exists before anything is counted.
pub fn init() {
    let _ = handle();
}

/// How often recorded histogram samples are folded into their summaries.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

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

/// One answered HTTP request: `route` is the matched route template (or `unmatched`).
pub fn http_request(route: String, method: String, status: u16, elapsed: Duration) {
    metrics::counter!("i2v_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("i2v_http_request_duration_seconds", "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
}

/// The queue as the store sees it now; set just before a scrape.
pub fn queue_depth(queued: i64, processing: i64) {
    metrics::gauge!("i2v_videos", "status" => "queued").set(queued as f64);
    metrics::gauge!("i2v_videos", "status" => "processing").set(processing as f64);
}

/// Every metric in the Prometheus text format; empty if another recorder was installed first.
pub fn scrape() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}

pub fn render_outcome(outcome: &'static str) {
    metrics::counter!("i2v_renders_total", "outcome" => outcome).increment(1);
}

pub fn webhook_outcome(outcome: &'static str) {
    metrics::counter!("i2v_webhook_attempts_total", "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_with_known_labels_is_listed_from_the_start_with_its_help() {
        init();
        let text = scrape();
        for name in [
            "i2v_videos",
            "i2v_renders_total",
            "i2v_webhook_attempts_total",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
        }
        for status in ["queued", "processing"] {
            assert!(
                text.contains(&format!("i2v_videos{{status=\"{status}\"}} ")),
                "{status}:\n{text}"
            );
        }
        for outcome in RENDER_OUTCOMES {
            let series = format!("i2v_renders_total{{outcome=\"{outcome}\"}} ");
            assert!(text.contains(&series), "{series}:\n{text}");
        }
        for outcome in WEBHOOK_OUTCOMES {
            let series = format!("i2v_webhook_attempts_total{{outcome=\"{outcome}\"}} ");
            assert!(text.contains(&series), "{series}:\n{text}");
        }
    }
}
