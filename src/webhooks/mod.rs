//! Akool-format callbacks: each status change to 2, 3 or 4 of a video with a `webhookurl` leaves
//! a row in the `webhook_deliveries` outbox (same transaction as the change); this module sends
//! them, encrypted and signed for the owning account, retrying with exponential backoff and
//! jitter, in order per video, surviving restarts.

pub mod crypto;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::clock::now_ms;
use crate::net::FetchError;
use crate::store::{WebhookAttempt, WebhookDelivery, WebhookOutcome};
use crypto::{sign, CallbackPayload};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// The `type` field of the encrypted payload.
    #[serde(rename = "type")]
    pub kind: String,
    /// Send the status-2 (processing) callback too.
    pub on_processing: bool,
    /// Attempts before a delivery is given up.
    pub max_attempts: i64,
    /// First retry delay; doubled per attempt (with +-20% jitter) up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Per-attempt limit; a receiver slower than this counts as a failure.
    pub timeout_secs: u64,
    pub poll_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        // 3 min doubling over 8 attempts: the last one about 6 hours after the first.
        WebhookConfig {
            kind: "image2video".into(),
            on_processing: true,
            max_attempts: 8,
            backoff_base_ms: 180_000,
            backoff_max_ms: 3 * 3_600_000,
            timeout_secs: 10,
            poll_ms: 1_000,
        }
    }
}

/// Delay before attempt `done_attempts + 1`, with +-20% jitter.
pub fn backoff_ms(config: &WebhookConfig, done_attempts: i64, jitter: f64) -> i64 {
    let exp = (done_attempts - 1).clamp(0, 30) as u32;
    let raw = config
        .backoff_base_ms
        .saturating_mul(1u64 << exp)
        .min(config.backoff_max_ms) as f64;
    (raw * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0))) as i64
}

/// Sends due callbacks every `poll_ms` until `stop`.
pub async fn run_deliveries(app: App, stop: CancellationToken) {
    let poll = Duration::from_millis(app.config.webhooks.poll_ms.max(10));
    crate::periodic::every(poll, stop, || async {
        match deliver_due(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sent = n, "webhook attempts made"),
            Err(e) => tracing::warn!(error = %e, "webhook delivery pass failed; will retry"),
        }
    })
    .await
}

/// One pass: claims due deliveries and attempts each once. Returns how many were attempted.
pub async fn deliver_due(app: &App) -> anyhow::Result<usize> {
    let cfg = &app.config.webhooks;
    let now = now_ms();
    let lease = now + (cfg.timeout_secs as i64 + 30) * 1000;
    let due = app.store.claim_webhooks(now, lease, 32).await?;
    let n = due.len();
    for delivery in due {
        let attempt_no = delivery.attempts + 1;
        let (attempt, outcome) = attempt(app, &delivery, attempt_no).await;
        crate::metrics::webhook_outcome(match outcome {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Retry(_) => "retry",
            WebhookOutcome::GiveUp(_) => "failed",
            WebhookOutcome::Skipped => "skipped",
        });
        app.store
            .finish_webhook_attempt(delivery.id, attempt, outcome)
            .await?;
    }
    Ok(n)
}

async fn attempt(
    app: &App,
    d: &WebhookDelivery,
    attempt_no: i64,
) -> (WebhookAttempt, WebhookOutcome) {
    let cfg = &app.config.webhooks;
    let record = |http_status: Option<i64>, error: Option<String>| WebhookAttempt {
        attempt: attempt_no,
        at: now_ms(),
        http_status,
        error,
    };
    if d.video_status == 2 && !cfg.on_processing {
        return (
            record(None, Some("status-2 callbacks are turned off".into())),
            WebhookOutcome::Skipped,
        );
    }
    // Presigning can need fresh credentials from the environment: a passing fault, retried.
    let video_url = match (d.video_status, &d.blob_key) {
        (3, Some(key)) => match app.video_urls.of(key).await {
            Ok(url) => url,
            Err(e) => {
                let error = format!("cannot make the video_url: {e}");
                let outcome = retry_or_give_up(app, d, attempt_no, &error, false);
                return (record(None, Some(error)), outcome);
            }
        },
        _ => String::new(),
    };
    let body = match signed_body(app, d, &video_url).await {
        Ok(body) => body,
        Err(reason) => {
            return (
                record(None, Some(reason.clone())),
                WebhookOutcome::GiveUp(reason),
            )
        }
    };
    let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
    let sent = tokio::time::timeout(timeout, app.outbound.post_json(&d.url, &body)).await;
    let (status, error, permanent) = match sent {
        Ok(Ok(code)) if (200..300).contains(&code) => {
            tracing::info!(video = %d.video_id, status = d.video_status, "webhook delivered");
            return (record(Some(code as i64), None), WebhookOutcome::Delivered);
        }
        Ok(Ok(code)) => (
            Some(code as i64),
            format!("receiver answered HTTP {code}"),
            false,
        ),
        Ok(Err(e @ (FetchError::PrivateAddress(_) | FetchError::BadUrl(_)))) => {
            (None, e.to_string(), true)
        }
        Ok(Err(e)) => (None, e.to_string(), false),
        Err(_) => (
            None,
            format!("receiver did not answer within {timeout:?}"),
            false,
        ),
    };
    let outcome = retry_or_give_up(app, d, attempt_no, &error, permanent);
    (record(status, Some(error)), outcome)
}

fn retry_or_give_up(
    app: &App,
    d: &WebhookDelivery,
    attempt_no: i64,
    error: &str,
    permanent: bool,
) -> WebhookOutcome {
    let cfg = &app.config.webhooks;
    if permanent || attempt_no >= cfg.max_attempts {
        tracing::warn!(video = %d.video_id, error = %error, "webhook given up");
        WebhookOutcome::GiveUp(format!("gave up after {attempt_no} attempt(s): {error}"))
    } else {
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        WebhookOutcome::Retry(now_ms() + backoff_ms(cfg, attempt_no, jitter))
    }
}

async fn signed_body(
    app: &App,
    d: &WebhookDelivery,
    url: &str,
) -> Result<serde_json::Value, String> {
    let (client_id, sealed) = app
        .store
        .webhook_credentials(d.uid)
        .await
        .map_err(|e| format!("store error: {e}"))?
        .ok_or("the account no longer exists")?;
    let secret = app.keys.unseal(&sealed).map_err(|e| e.to_string())?;
    let payload = CallbackPayload {
        _id: &d.video_id,
        status: d.video_status,
        kind: &app.config.webhooks.kind,
        url,
    };
    let nonce = rand::random_range(1000..10000).to_string();
    let signed =
        sign(&client_id, &secret, &payload, now_ms(), &nonce).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(signed).expect("the callback always serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_20_percent() {
        let cfg = WebhookConfig::default();
        assert_eq!(backoff_ms(&cfg, 1, 0.0), 180_000);
        assert_eq!(backoff_ms(&cfg, 2, 0.0), 360_000);
        assert_eq!(backoff_ms(&cfg, 7, 0.0), 3 * 3_600_000, "capped");
        assert_eq!(backoff_ms(&cfg, 1, 1.0), 216_000);
        assert_eq!(backoff_ms(&cfg, 1, -1.0), 144_000);
        let total: i64 = (1..cfg.max_attempts)
            .map(|n| backoff_ms(&cfg, n, 0.0))
            .sum();
        assert!(
            (5 * 3_600_000..8 * 3_600_000).contains(&total),
            "8 attempts span about 6 hours: {total}"
        );
    }
}
