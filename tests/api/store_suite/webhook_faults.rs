//! The webhook outbox under webhook faults: what a decided fault does to its delivery.

use std::sync::Arc;

use i2v::domain::faults::parse_webhook_faults;
use i2v::domain::VideoStatus;
use i2v::store::{FaultKind, FaultStep, Store, WebhookAttempt, WebhookOutcome};
use serde_json::json;

use super::support::*;

fn sent(at: i64) -> WebhookAttempt {
    WebhookAttempt {
        attempt: 1,
        at,
        http_status: Some(200),
        error: None,
    }
}

/// A claim says whether the account has webhook rules; a held callback blocks nothing and is due
/// once the video's final one settles; a postponed one waits, a dropped one is finished; a
/// redelivery forgets the fault.
pub async fn check_webhook_faults_move_deliveries(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    let w = video(&a, T0 + 1000, 10);
    store
        .create_videos(a.uid(), vec![v.clone(), w.clone()], T0)
        .await
        .unwrap();
    render(&store, v.id, T0 + 10).await;
    render(&store, w.id, T0 + 20).await;
    let claim = |at: i64| {
        let store = store.clone();
        async move { store.claim_webhooks(at, at + MINUTE, 10).await.unwrap() }
    };
    let now = T0 + 100;

    let first = claim(now).await;
    assert_eq!(first.len(), 2, "each video's status-2 callback: {first:?}");
    assert!(first.iter().all(|d| !d.account_faults && d.fault.is_none()));
    let rules = parse_webhook_faults(&json!({"rules": [{"effect": "drop"}]})).unwrap();
    assert!(store
        .set_faults(a.uid(), FaultKind::Webhook, Some(&rules.to_stored()))
        .await
        .unwrap());
    // The leases run out; claimed again, they say the account has rules.
    let again = claim(now + 2 * MINUTE).await;
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.account_faults));
    let (v2, w2) = (&again[0], &again[1]);
    assert_eq!(v2.video_id, v.id.to_hex());

    // v: its status-2 callback is held; the status-3 one is claimed past it.
    let at = now + 2 * MINUTE + 1;
    store
        .fault_webhook(v2.id, "\"reorder\"", FaultStep::Hold, at)
        .await
        .unwrap();
    // w: its status-2 callback is postponed a second; the status-3 one waits for it.
    store
        .fault_webhook(
            w2.id,
            "{\"delay_ms\":1000}",
            FaultStep::Postpone(at + 1000),
            at,
        )
        .await
        .unwrap();
    let next = claim(at + 1).await;
    assert_eq!(next.len(), 1, "{next:?}");
    let v3 = &next[0];
    assert_eq!(
        (v3.video_id.as_str(), v3.video_status),
        (v.id.to_hex().as_str(), VideoStatus::Completed)
    );
    let listed = store
        .webhook_deliveries(Some(&v.id.to_hex()), 10)
        .await
        .unwrap();
    let held = &listed[1].0;
    assert_eq!(
        (held.state.as_str(), held.fault.as_deref()),
        ("held", Some("\"reorder\""))
    );

    // v's final callback settles: the held one is due at once, its fault kept.
    store
        .finish_webhook_attempt(v3.id, sent(at + 2), WebhookOutcome::Delivered)
        .await
        .unwrap();
    let released = claim(at + 2).await;
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(released[0].id, v2.id);
    assert_eq!(released[0].fault.as_deref(), Some("\"reorder\""));

    // w's postponed callback is due a second later, then sent; its status-3 one is dropped.
    let due = claim(at + 1000).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, w2.id);
    store
        .finish_webhook_attempt(w2.id, sent(at + 1001), WebhookOutcome::Delivered)
        .await
        .unwrap();
    let w3 = claim(at + 1002).await;
    assert_eq!(w3.len(), 1);
    store
        .fault_webhook(w3[0].id, "\"drop\"", FaultStep::Drop, at + 1003)
        .await
        .unwrap();
    let listed = store
        .webhook_deliveries(Some(&w.id.to_hex()), 10)
        .await
        .unwrap();
    let (dropped, attempts) = &listed[0];
    assert_eq!(
        (
            dropped.state.as_str(),
            dropped.finished_at,
            dropped.attempts
        ),
        ("dropped", Some(at + 1003), 0)
    );
    assert!(attempts.is_empty());
    assert!(claim(i64::MAX / 2).await.iter().all(|d| d.id == v2.id));

    // A redelivery is decided afresh.
    assert!(store
        .redeliver_webhook(dropped.id, at + 5000)
        .await
        .unwrap());
    let redo = claim(at + 5000).await;
    let redo = redo.iter().find(|d| d.id == dropped.id).unwrap();
    assert_eq!(redo.fault, None);
}
