//! The webhook outbox (DESIGN §7).

use std::sync::Arc;

use i2v::domain::VideoStatus;
use i2v::store::{Store, WebhookAttempt, WebhookOutcome};

use super::support::*;

/// A webhook attempt that finishes after its video was deleted leaves no trace and no error.
pub async fn check_attempt_after_delete_leaves_no_trace(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    store
        .create_videos(a.uid(), vec![v.clone()], T0)
        .await
        .unwrap();
    claim_expect(&store, "w", T0, T0 + MINUTE, v.id).await;
    assert!(store.fail(v.id, "w", "broken", T0 + 1).await.unwrap());
    let sending = store.claim_webhooks(T0 + 2, T0 + MINUTE, 10).await.unwrap();
    assert_eq!(sending.len(), 1, "the status-2 callback comes first");
    let gone = store.delete_videos(a.uid(), &[v.id], T0 + 3).await.unwrap();
    assert_eq!(gone.deleted, vec![v.id]);
    store
        .finish_webhook_attempt(
            sending[0].id,
            i2v::store::WebhookAttempt {
                attempt: 1,
                at: T0 + 4,
                http_status: Some(200),
                error: None,
            },
            i2v::store::WebhookOutcome::Delivered,
        )
        .await
        .expect("finishing an attempt of a deleted video is not an error");
    let left = store
        .webhook_deliveries(Some(&v.id.to_hex()), 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "no delivery or attempt survives: {left:?}");
}

fn attempt(attempt: i64, at: i64, http_status: Option<i64>, error: Option<&str>) -> WebhookAttempt {
    WebhookAttempt {
        attempt,
        at,
        http_status,
        error: error.map(str::to_owned),
    }
}

/// Status changes leave their callbacks in order, and each attempt moves its delivery on as its
/// outcome says: retried later, delivered, given up, redelivered by an operator.
pub async fn check_webhook_outbox(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    let mut quiet = video(&a, T0 + 1000, 10);
    quiet.webhook_url = String::new();
    store
        .create_videos(a.uid(), vec![v.clone(), quiet.clone()], T0)
        .await
        .unwrap();
    let key = render(&store, v.id, T0 + 10).await;
    render(&store, quiet.id, T0 + 20).await;
    let now = T0 + 100;
    let claim = |at: i64| {
        let store = store.clone();
        async move { store.claim_webhooks(at, at + MINUTE, 10).await.unwrap() }
    };

    // The status-3 callback waits for the status-2 one; the video without a URL has none.
    let first = claim(now).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let processing = first[0].clone();
    assert_eq!(processing.video_id, v.id.to_hex());
    assert_eq!(processing.uid, a.uid());
    assert_eq!(processing.url, v.webhook_url);
    assert_eq!(processing.video_status, VideoStatus::Processing);
    assert_eq!(
        (processing.state.as_str(), processing.attempts),
        ("pending", 0)
    );
    assert!(
        claim(now + 1).await.is_empty(),
        "leased, and the next one waits"
    );

    // A failed attempt: pending again, due later, its error kept.
    store
        .finish_webhook_attempt(
            processing.id,
            attempt(1, now + 2, Some(500), Some("HTTP 500")),
            WebhookOutcome::Retry(now + 1000),
        )
        .await
        .unwrap();
    assert!(claim(now + 999).await.is_empty(), "not due yet");
    let again = claim(now + 1000).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, processing.id);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(again[0].finished_at, None);
    store
        .finish_webhook_attempt(
            processing.id,
            attempt(2, now + 1001, Some(200), None),
            WebhookOutcome::Delivered,
        )
        .await
        .unwrap();

    let next = claim(now + 1002).await;
    assert_eq!(next.len(), 1);
    let completed = next[0].clone();
    assert_eq!(completed.video_status, VideoStatus::Completed);
    assert_eq!(completed.blob_key.as_deref(), Some(key.as_str()));
    store
        .finish_webhook_attempt(
            completed.id,
            attempt(1, now + 1003, None, Some("timed out")),
            WebhookOutcome::GiveUp("gave up".into()),
        )
        .await
        .unwrap();
    assert!(claim(i64::MAX / 2).await.is_empty(), "nothing is pending");

    // The record: newest first, each with its attempts in order.
    let listed = store
        .webhook_deliveries(Some(&v.id.to_hex()), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let (failed, failed_attempts) = &listed[0];
    assert_eq!(failed.id, completed.id);
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.last_error.as_deref(), Some("gave up"));
    assert_eq!(failed.finished_at, Some(now + 1003));
    assert_eq!(failed_attempts.len(), 1);
    assert_eq!(failed_attempts[0].error.as_deref(), Some("timed out"));
    let (delivered, delivered_attempts) = &listed[1];
    assert_eq!(delivered.state, "delivered");
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.last_error, None);
    assert_eq!(delivered.finished_at, Some(now + 1001));
    assert_eq!(
        delivered_attempts,
        &vec![
            attempt(1, now + 2, Some(500), Some("HTTP 500")),
            attempt(2, now + 1001, Some(200), None)
        ]
    );
    assert_eq!(store.webhook_deliveries(None, 10).await.unwrap().len(), 2);
    let newest = store.webhook_deliveries(None, 1).await.unwrap();
    assert_eq!(newest[0].0.id, completed.id);

    // Redelivery: pending again, due at once, counted afresh.
    assert!(store
        .redeliver_webhook(completed.id, now + 2000)
        .await
        .unwrap());
    assert!(!store
        .redeliver_webhook(completed.id + 1000, now)
        .await
        .unwrap());
    let redo = claim(now + 2000).await;
    assert_eq!(redo.len(), 1);
    assert_eq!(redo[0].id, completed.id);
    assert_eq!((redo[0].state.as_str(), redo[0].attempts), ("pending", 0));
    assert_eq!(redo[0].finished_at, None);

    // The keys a callback is encrypted with.
    assert_eq!(
        store.webhook_credentials(a.uid()).await.unwrap(),
        Some((a.client_id.clone(), format!("sealed:{}", a.secret_hash)))
    );
    assert_eq!(store.webhook_credentials(NO_UID).await.unwrap(), None);
}
