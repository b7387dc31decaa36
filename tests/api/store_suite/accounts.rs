//! Accounts, credentials and credits: the ledger always explains the balance.

use std::sync::Arc;

use i2v::store::{ForcedStatus, Store, StoreError};

use super::support::*;

pub async fn check_accounts_and_auth(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 0).await;
    assert!(
        a.uid() > 100_000,
        "uids start above 100000, got {}",
        a.uid()
    );
    assert!(
        b.uid() > a.uid(),
        "uids increase: {} then {}",
        a.uid(),
        b.uid()
    );
    assert_eq!(a.account.credits, 100);
    assert!(!a.account.banned);
    assert_eq!(a.account.created_at, T0);
    assert_eq!(
        store.account(a.uid()).await.unwrap().as_ref(),
        Some(&a.account)
    );
    assert_eq!(
        store.account(b.uid()).await.unwrap().as_ref(),
        Some(&b.account)
    );
    assert_eq!(store.account(NO_UID).await.unwrap(), None);

    let by_hash = store
        .auth_by_key_hash(&a.secret_hash)
        .await
        .unwrap()
        .expect("by key hash");
    let by_client = store
        .auth_by_client_id(&a.client_id)
        .await
        .unwrap()
        .expect("by client id");
    let by_uid = store.auth_by_uid(a.uid()).await.unwrap().expect("by uid");
    for rec in [&by_hash, &by_client, &by_uid] {
        assert_eq!(rec.uid, a.uid());
        assert_eq!(rec.team_id, a.account.team_id);
        assert_eq!(rec.client_id, a.client_id);
        assert_eq!(rec.secret_hash, a.secret_hash);
        assert!(!rec.banned);
    }
    let b_rec = store
        .auth_by_key_hash(&b.secret_hash)
        .await
        .unwrap()
        .expect("b by key hash");
    assert_eq!(b_rec.uid, b.uid());
    assert!(store
        .auth_by_key_hash("no-such-hash")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .auth_by_client_id(&unique_hex())
        .await
        .unwrap()
        .is_none());
    assert!(store.auth_by_uid(NO_UID).await.unwrap().is_none());

    // Banning shows in every lookup and only for that account.
    assert!(store.set_banned(a.uid(), true).await.unwrap());
    assert!(store.account(a.uid()).await.unwrap().unwrap().banned);
    assert!(
        store
            .auth_by_key_hash(&a.secret_hash)
            .await
            .unwrap()
            .unwrap()
            .banned
    );
    assert!(
        store
            .auth_by_client_id(&a.client_id)
            .await
            .unwrap()
            .unwrap()
            .banned
    );
    assert!(store.auth_by_uid(a.uid()).await.unwrap().unwrap().banned);
    assert!(!store.auth_by_uid(b.uid()).await.unwrap().unwrap().banned);
    assert!(!store.set_banned(NO_UID, true).await.unwrap());
    assert!(store.set_banned(a.uid(), false).await.unwrap());
    assert!(
        !store
            .auth_by_key_hash(&a.secret_hash)
            .await
            .unwrap()
            .unwrap()
            .banned
    );
    assert!(!store.account(a.uid()).await.unwrap().unwrap().banned);
}

pub async fn check_rotate_secret(store: Arc<dyn Store>) {
    let a = new_account(&store, 0).await;
    let b = new_account(&store, 0).await;
    let new_hash = format!("rotated-{}", unique_hex());
    assert!(store
        .rotate_secret(a.uid(), &new_hash, "sealed:new")
        .await
        .unwrap());
    assert!(
        store
            .auth_by_key_hash(&a.secret_hash)
            .await
            .unwrap()
            .is_none(),
        "the old key no longer authenticates"
    );
    let rec = store
        .auth_by_key_hash(&new_hash)
        .await
        .unwrap()
        .expect("new key authenticates");
    assert_eq!(rec.uid, a.uid());
    assert_eq!(rec.secret_hash, new_hash);
    assert_eq!(rec.client_id, a.client_id, "rotation keeps the client id");
    assert_eq!(
        store
            .auth_by_client_id(&a.client_id)
            .await
            .unwrap()
            .unwrap()
            .secret_hash,
        new_hash
    );
    assert_eq!(
        store
            .auth_by_uid(a.uid())
            .await
            .unwrap()
            .unwrap()
            .secret_hash,
        new_hash
    );
    // Another account is untouched.
    assert_eq!(
        store
            .auth_by_key_hash(&b.secret_hash)
            .await
            .unwrap()
            .unwrap()
            .uid,
        b.uid()
    );
    assert!(!store
        .rotate_secret(NO_UID, "whatever", "sealed")
        .await
        .unwrap());
}

pub async fn check_adjust_credits(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 7).await;
    assert_eq!(
        store
            .adjust_credits(a.uid(), 50, "top-up", T0)
            .await
            .unwrap(),
        150
    );
    assert_eq!(balance(&store, a.uid()).await, 150);

    match store.adjust_credits(a.uid(), -200, "too much", T0).await {
        Err(StoreError::InsufficientCredits { balance, needed }) => {
            assert_eq!((balance, needed), (150, 200))
        }
        other => panic!("expected InsufficientCredits, got {other:?}"),
    }
    assert_eq!(
        balance(&store, a.uid()).await,
        150,
        "a refused debit changes nothing"
    );
    assert_eq!(
        store.ledger_sum(a.uid()).await.unwrap(),
        150,
        "a refused debit writes no ledger row"
    );

    assert_eq!(
        store
            .adjust_credits(a.uid(), -150, "all of it", T0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(balance(&store, a.uid()).await, 0);
    assert!(matches!(
        store.adjust_credits(a.uid(), -1, "below zero", T0).await,
        Err(StoreError::InsufficientCredits { .. })
    ));
    assert_eq!(balance(&store, a.uid()).await, 0);

    match store.adjust_credits(NO_UID, 10, "nobody", T0).await {
        Err(StoreError::NoSuchAccount(uid)) => assert_eq!(uid, NO_UID),
        other => panic!("expected NoSuchAccount, got {other:?}"),
    }
    assert_eq!(store.ledger_sum(NO_UID).await.unwrap(), 0);
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 0);
    assert_eq!(
        assert_ledger_matches(&store, b.uid()).await,
        7,
        "another account is untouched"
    );
}

pub async fn check_ledger_matches_balance(store: Arc<dyn Store>) {
    // No grant at all: an empty ledger.
    let zero = new_account(&store, 0).await;
    assert_eq!(assert_ledger_matches(&store, zero.uid()).await, 0);

    let a = new_account(&store, 100).await; // grant
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 100);
    let v1 = video(&a, T0, 30);
    let v2 = video(&a, T0 + 1000, 20);
    let v3 = video(&a, T0 + 2000, 10);
    store
        .create_videos(a.uid(), vec![v1.clone(), v2.clone(), v3.clone()], T0)
        .await
        .unwrap(); // charges
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 40);

    claim_expect(&store, "w", T0, T0 + MINUTE, v1.id).await;
    assert!(store.fail(v1.id, "w", "render failed", T0).await.unwrap()); // refund
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 70);

    store
        .adjust_credits(a.uid(), 25, "top-up", T0)
        .await
        .unwrap(); // top-up
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 95);
    store
        .adjust_credits(a.uid(), -5, "correction", T0)
        .await
        .unwrap(); // operator debit
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 90);

    store
        .force_status(v2.id, ForcedStatus::Fail("operator".into()), T0)
        .await
        .unwrap(); // refund
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 110);

    let outcome = store
        .delete_videos(a.uid(), &[v1.id, v2.id, v3.id], T0)
        .await
        .unwrap();
    assert_eq!(outcome.deleted, vec![v1.id, v2.id, v3.id]);
    // Deleting does not refund, and the ledger still explains the balance.
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 110);
}
