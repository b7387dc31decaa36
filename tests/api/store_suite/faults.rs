//! Fault rules (admin API): each account's sets as stored, and takes that advance them in the
//! store so that `next` counts and seeded draws hold across requests, processes and races.

use std::sync::Arc;

use i2v::domain::faults::{parse_api_faults, parse_webhook_faults, FaultSet, Trigger};
use i2v::store::{FaultKind, Store, StoreError};
use serde_json::{json, Value};

use super::support::*;

/// The AuthRecord's `api_faults` by every way authentication reads it.
async fn auth_flags(store: &Arc<dyn Store>, a: &Acct) -> [bool; 3] {
    [
        store
            .auth_by_uid(a.uid())
            .await
            .unwrap()
            .unwrap()
            .api_faults,
        store
            .auth_by_key_hash(&a.secret_hash)
            .await
            .unwrap()
            .unwrap()
            .api_faults,
        store
            .auth_by_client_id(&a.client_id)
            .await
            .unwrap()
            .unwrap()
            .api_faults,
    ]
}

fn stored(set: &FaultSet) -> String {
    set.to_stored()
}

async fn current(store: &Arc<dyn Store>, uid: i64, kind: FaultKind) -> FaultSet {
    let text = store
        .faults(uid, kind)
        .await
        .unwrap()
        .expect("account")
        .expect("a set");
    FaultSet::parse_stored(&text).expect("readable")
}

pub async fn check_faults_set_read_and_clear(store: Arc<dyn Store>) {
    let a = new_account(&store, 0).await;
    let b = new_account(&store, 0).await;
    assert_eq!(
        store.faults(a.uid(), FaultKind::Api).await.unwrap(),
        Some(None)
    );
    assert_eq!(auth_flags(&store, &a).await, [false; 3]);

    let api = stored(
        &parse_api_faults(&json!({"seed": 5, "rules": [
            {"route": "delbyids", "next": 1, "effect": {"drop": "after"}},
        ]}))
        .unwrap(),
    );
    let hooks = stored(
        &parse_webhook_faults(&json!({"seed": 6, "rules": [{"status": 3, "effect": "drop"}]}))
            .unwrap(),
    );
    assert!(store
        .set_faults(a.uid(), FaultKind::Api, Some(&api))
        .await
        .unwrap());
    assert_eq!(
        store.faults(a.uid(), FaultKind::Api).await.unwrap(),
        Some(Some(api.clone()))
    );
    // The kinds are apart, and so are the accounts.
    assert_eq!(
        store.faults(a.uid(), FaultKind::Webhook).await.unwrap(),
        Some(None)
    );
    assert_eq!(
        store.faults(b.uid(), FaultKind::Api).await.unwrap(),
        Some(None)
    );
    assert_eq!(auth_flags(&store, &a).await, [true; 3]);
    assert_eq!(auth_flags(&store, &b).await, [false; 3]);

    // Webhook rules alone do not make requests ask for faults.
    assert!(store
        .set_faults(b.uid(), FaultKind::Webhook, Some(&hooks))
        .await
        .unwrap());
    assert_eq!(
        store.faults(b.uid(), FaultKind::Webhook).await.unwrap(),
        Some(Some(hooks))
    );
    assert_eq!(auth_flags(&store, &b).await, [false; 3]);

    assert!(store
        .set_faults(a.uid(), FaultKind::Api, None)
        .await
        .unwrap());
    assert_eq!(
        store.faults(a.uid(), FaultKind::Api).await.unwrap(),
        Some(None)
    );
    assert_eq!(auth_flags(&store, &a).await, [false; 3]);
    assert_eq!(
        store
            .take_fault(a.uid(), FaultKind::Api, "delbyids")
            .await
            .unwrap(),
        None
    );

    // No such account.
    assert_eq!(store.faults(NO_UID, FaultKind::Api).await.unwrap(), None);
    assert!(!store
        .set_faults(NO_UID, FaultKind::Api, Some(&api))
        .await
        .unwrap());
    assert!(!store
        .set_faults(NO_UID, FaultKind::Webhook, None)
        .await
        .unwrap());
    assert_eq!(
        store
            .take_fault(NO_UID, FaultKind::Api, "delbyids")
            .await
            .unwrap(),
        None
    );
}

pub async fn check_take_fault_counts_down_and_keeps_draws(store: Arc<dyn Store>) {
    let a = new_account(&store, 0).await;
    let initial = parse_api_faults(&json!({"seed": 42, "rules": [
        {"route": "delbyids", "next": 2, "effect": {"drop": "after"}},
        {"route": "resultsByIds", "probability": 0.5, "effect": {"http_status": 503}},
    ]}))
    .unwrap();
    store
        .set_faults(a.uid(), FaultKind::Api, Some(&stored(&initial)))
        .await
        .unwrap();

    let uid = a.uid();
    let take = |subject: &'static str| {
        let store = store.clone();
        async move {
            store
                .take_fault(uid, FaultKind::Api, subject)
                .await
                .unwrap()
        }
    };
    assert_eq!(take("delbyids").await, Some(json!({"drop": "after"})));
    assert_eq!(
        current(&store, a.uid(), FaultKind::Api).await.rules[0].trigger,
        Trigger::Next(1)
    );
    assert_eq!(take("delbyids").await, Some(json!({"drop": "after"})));
    assert_eq!(take("delbyids").await, None);
    assert_eq!(
        current(&store, a.uid(), FaultKind::Api).await.rules[0].trigger,
        Trigger::Next(0)
    );
    // A subject no rule names draws nothing.
    assert_eq!(take("quotaInfo").await, None);
    assert_eq!(current(&store, a.uid(), FaultKind::Api).await.draws, 0);

    // The draws taken through the store are the domain's sequence for the seed, and the same
    // again when the set is put back.
    let mut expected = initial.clone();
    let expected: Vec<Option<Value>> = (0..40).map(|_| expected.take("resultsByIds")).collect();
    assert!(expected.iter().any(Option::is_some) && expected.iter().any(Option::is_none));
    let mut first = Vec::new();
    for _ in 0..40 {
        first.push(take("resultsByIds").await);
    }
    assert_eq!(first, expected);
    assert_eq!(current(&store, a.uid(), FaultKind::Api).await.draws, 40);
    store
        .set_faults(a.uid(), FaultKind::Api, Some(&stored(&initial)))
        .await
        .unwrap();
    let mut again = Vec::new();
    for _ in 0..40 {
        again.push(take("resultsByIds").await);
    }
    assert_eq!(again, expected);

    // Callbacks' rules are taken apart from the requests'.
    let hooks = parse_webhook_faults(&json!({"seed": 1, "rules": [
        {"status": 3, "next": 1, "effect": "duplicate"},
    ]}))
    .unwrap();
    store
        .set_faults(a.uid(), FaultKind::Webhook, Some(&stored(&hooks)))
        .await
        .unwrap();
    let hook = |status: &'static str| {
        let store = store.clone();
        async move {
            store
                .take_fault(uid, FaultKind::Webhook, status)
                .await
                .unwrap()
        }
    };
    assert_eq!(hook("2").await, None);
    assert_eq!(hook("3").await, Some(json!("duplicate")));
    assert_eq!(hook("3").await, None);
    assert_eq!(current(&store, a.uid(), FaultKind::Api).await.draws, 40);

    // A stored set the domain cannot read fails the take, saying so.
    store
        .set_faults(a.uid(), FaultKind::Api, Some("{not a fault set"))
        .await
        .unwrap();
    match store.take_fault(a.uid(), FaultKind::Api, "delbyids").await {
        Err(StoreError::Backend(e)) => {
            assert!(e.to_string().contains("not readable"), "{e}")
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// Many takes at once, as concurrent requests make them: a `next: N` rule fires exactly N times.
pub async fn check_concurrent_takes_never_over_fire(store: Arc<dyn Store>) {
    let a = new_account(&store, 0).await;
    let b = new_account(&store, 0).await;
    let set = parse_api_faults(&json!({"seed": 3, "rules": [
        {"route": "*", "next": 7, "effect": {"code": 1101}},
    ]}))
    .unwrap();
    for acct in [&a, &b] {
        store
            .set_faults(acct.uid(), FaultKind::Api, Some(&stored(&set)))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..48)
        .map(|n| {
            let store = store.clone();
            let uid = if n % 2 == 0 { a.uid() } else { b.uid() };
            tokio::spawn(async move {
                let fired = store
                    .take_fault(uid, FaultKind::Api, "resultsByIds")
                    .await
                    .unwrap();
                (uid, fired.is_some())
            })
        })
        .collect();
    let mut fired = [0, 0];
    for task in tasks {
        let (uid, hit) = task.await.unwrap();
        if hit {
            fired[usize::from(uid == b.uid())] += 1;
        }
    }
    assert_eq!(fired, [7, 7]);
    for acct in [&a, &b] {
        let left = current(&store, acct.uid(), FaultKind::Api).await;
        assert!(left.spent(), "{left:?}");
    }
}
