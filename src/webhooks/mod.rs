//! Akool-format callbacks: each status change to 2, 3 or 4 of a video with a `webhookurl` leaves
//! a row in the `webhook_deliveries` outbox (same transaction as the change); this module sends
//! them, encrypted and signed for the owning account, retrying with exponential backoff and
//! jitter, in order per video, surviving restarts.

pub mod crypto;
mod faults;
mod in_flight;

use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::clock::now_ms;
use crate::config::Webhooks;
use crate::domain::VideoStatus;
use crate::net::FetchError;
use crate::store::{WebhookAttempt, WebhookDelivery, WebhookOutcome};
use crypto::{sign, CallbackPayload};
use faults::{spoil, Tamper, STALE_BY_MS};
pub use in_flight::InFlight;

/// Delay before attempt `done_attempts + 1`, with +-20% jitter.
pub fn backoff_ms(config: &Webhooks, done_attempts: i64, jitter: f64) -> i64 {
    let exp = (done_attempts - 1).clamp(0, 30) as u32;
    let raw = config
        .backoff_base
        .saturating_mul(1u32 << exp)
        .min(config.backoff_max)
        .as_millis() as f64;
    (raw * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0))) as i64
}

/// Sends due callbacks every `poll_ms` until `stop`. Attempts run concurrently (within
/// `max_concurrent` and `max_per_host`), so a receiver that hangs holds only its own attempts;
/// at `stop`, attempts in flight finish (each is bounded by `timeout_secs`).
pub async fn run_deliveries(app: App, stop: CancellationToken) {
    let poll = app.config.webhooks.poll.max(Duration::from_millis(10));
    let in_flight = InFlight::default();
    let mut attempts = JoinSet::new();
    loop {
        while attempts.try_join_next().is_some() {}
        match deliver_due(&app, &in_flight, &mut attempts).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(started = n, "webhook attempts started"),
            Err(e) => tracing::warn!(error = %e, "webhook delivery pass failed; will retry"),
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(poll) => {}
        }
    }
    while attempts.join_next().await.is_some() {}
}

/// One pass: claims due deliveries (as many as there is room for) and starts an attempt for
/// each whose receiver is below `max_per_host`. Returns how many were started. A delivery whose
/// receiver is at its limit is not attempted: its claim lapses and it is claimed again later,
/// by this process or another.
pub async fn deliver_due(
    app: &App,
    in_flight: &InFlight,
    attempts: &mut JoinSet<()>,
) -> anyhow::Result<usize> {
    let cfg = &app.config.webhooks;
    let room = cfg.max_concurrent.max(1).saturating_sub(in_flight.total());
    if room == 0 {
        return Ok(0);
    }
    let now = now_ms();
    let lease = now + (cfg.timeout.as_secs() as i64 + 30) * 1000;
    let due = app.store.claim_webhooks(now, lease, room as i64).await?;
    let mut started = 0;
    for delivery in due {
        let receiver = receiver_of(&delivery.url);
        let Some(slot) = in_flight.try_start(&receiver, cfg.max_per_host.max(1)) else {
            tracing::debug!(video = %delivery.video_id, "receiver busy; callback postponed");
            continue;
        };
        started += 1;
        let app = app.clone();
        attempts.spawn(async move {
            let _slot = slot;
            if let Err(e) = attempt_and_record(&app, delivery).await {
                tracing::warn!(error = %e, "recording a webhook attempt failed; it will be retried");
            }
        });
    }
    Ok(started)
}

/// Who a callback goes to, for the per-receiver limit: scheme, host and port.
fn receiver_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => String::new(),
    }
}

async fn attempt_and_record(app: &App, delivery: WebhookDelivery) -> anyhow::Result<()> {
    let Some(tamper) = faults::prepare(app, &delivery).await? else {
        return Ok(());
    };
    let attempt_no = delivery.attempts + 1;
    let (mut attempts, outcome) = attempt(app, &delivery, attempt_no, tamper).await;
    crate::metrics::webhook_outcome(match outcome {
        WebhookOutcome::Delivered => "delivered",
        WebhookOutcome::Retry(_) => "retry",
        WebhookOutcome::GiveUp(_) => "failed",
        WebhookOutcome::Skipped => "skipped",
    });
    let last = attempts.pop().expect("an attempt logs at least one try");
    for earlier in attempts {
        app.store.log_webhook_attempt(delivery.id, earlier).await?;
    }
    app.store
        .finish_webhook_attempt(delivery.id, last, outcome)
        .await?;
    Ok(())
}

/// One attempt: one POST, or two for a duplicated callback (each logged under its own number).
async fn attempt(
    app: &App,
    d: &WebhookDelivery,
    attempt_no: i64,
    tamper: Tamper,
) -> (Vec<WebhookAttempt>, WebhookOutcome) {
    let cfg = &app.config.webhooks;
    let record = |attempt: i64, http_status: Option<i64>, error: Option<String>| WebhookAttempt {
        attempt,
        at: now_ms(),
        http_status,
        error,
    };
    if d.video_status == VideoStatus::Processing && !cfg.on_processing {
        return (
            vec![record(
                attempt_no,
                None,
                Some("status-2 callbacks are turned off".into()),
            )],
            WebhookOutcome::Skipped,
        );
    }
    // Presigning can need fresh credentials from the environment: a passing fault, retried.
    let video_url = match (d.video_status, &d.blob_key) {
        (VideoStatus::Completed, Some(key)) => match app.video_urls.of(key).await {
            Ok(url) => url,
            Err(e) => {
                let error = format!("cannot make the video_url: {e}");
                let outcome = retry_or_give_up(app, d, attempt_no, &error, false);
                return (vec![record(attempt_no, None, Some(error))], outcome);
            }
        },
        _ => String::new(),
    };
    let body = match signed_body(app, d, &video_url, tamper).await {
        Ok(body) => body,
        Err(reason) => {
            return (
                vec![record(attempt_no, None, Some(reason.clone()))],
                WebhookOutcome::GiveUp(reason),
            )
        }
    };
    let posts = if tamper.duplicate { 2 } else { 1 };
    let mut log = Vec::with_capacity(posts);
    let mut failure = None;
    for n in 0..posts as i64 {
        match post(app, d, &body).await {
            Ok(code) => log.push(record(attempt_no + n, Some(code), None)),
            Err((status, error, permanent)) => {
                log.push(record(attempt_no + n, status, Some(error.clone())));
                failure = Some((error, permanent));
            }
        }
    }
    // A duplicated callback counts as delivered when either copy was taken.
    let delivered = log.iter().any(|a| a.error.is_none());
    let outcome = match failure {
        Some((error, permanent)) if !delivered => {
            let last_no = attempt_no + posts as i64 - 1;
            retry_or_give_up(app, d, last_no, &error, permanent)
        }
        _ => {
            tracing::info!(video = %d.video_id, status = d.video_status.code(), "webhook delivered");
            WebhookOutcome::Delivered
        }
    };
    (log, outcome)
}

/// One POST of the callback: the receiver's 2xx status, or (status, error, permanent).
async fn post(
    app: &App,
    d: &WebhookDelivery,
    body: &serde_json::Value,
) -> Result<i64, (Option<i64>, String, bool)> {
    let timeout = app.config.webhooks.timeout.max(Duration::from_secs(1));
    match tokio::time::timeout(timeout, app.outbound.post_json(&d.url, body)).await {
        Ok(Ok(code)) if (200..300).contains(&code) => Ok(code as i64),
        Ok(Ok(code)) => Err((
            Some(code as i64),
            format!("receiver answered HTTP {code}"),
            false,
        )),
        Ok(Err(e @ (FetchError::PrivateAddress(_) | FetchError::BadUrl(_)))) => {
            Err((None, e.to_string(), true))
        }
        Ok(Err(e)) => Err((None, e.to_string(), false)),
        Err(_) => Err((
            None,
            format!("receiver did not answer within {timeout:?}"),
            false,
        )),
    }
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
    tamper: Tamper,
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
        status: d.video_status.code(),
        kind: &app.config.webhooks.kind,
        url,
    };
    let nonce = rand::random_range(1000..10000).to_string();
    let stale_by = if tamper.stale_timestamp {
        STALE_BY_MS
    } else {
        0
    };
    let mut signed = sign(&client_id, &secret, &payload, now_ms() - stale_by, &nonce)
        .map_err(|e| e.to_string())?;
    if tamper.bad_signature {
        signed.signature = spoil(&signed.signature);
    }
    Ok(serde_json::to_value(signed).expect("the callback always serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_are_told_apart_by_scheme_host_and_port() {
        assert_eq!(
            receiver_of("https://a.example/x?y=1"),
            "https://a.example:443"
        );
        assert_eq!(
            receiver_of("http://a.example:8080/x"),
            "http://a.example:8080"
        );
        assert_eq!(
            receiver_of("http://user:pw@a.example/x"),
            "http://a.example:80"
        );
        assert_eq!(receiver_of("not a url"), "");
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_20_percent() {
        let cfg = Webhooks::default();
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
