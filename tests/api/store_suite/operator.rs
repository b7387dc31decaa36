//! Operator control (admin API): hold, re-queue, fail.

use std::sync::Arc;

use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{ForcedStatus, Store};

use super::support::*;

pub async fn check_force_status(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let done = video(&a, T0, 10);
    let queued = video(&a, T0 + 1000, 20);
    let finished = video(&a, T0 + 2000, 30);
    store
        .create_videos(
            a.uid(),
            vec![done.clone(), queued.clone(), finished.clone()],
            T0,
        )
        .await
        .unwrap();
    let now = T0 + 10_000;
    let key = render(&store, done.id, now).await;
    assert!(!due_keys(&store, i64::MAX / 2).await.contains(&key));

    // Requeue of a completed video: its file goes to the outbox and the row forgets it.
    let requeued = store
        .force_status(done.id, ForcedStatus::Requeue, now + 1)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(requeued.id, done.id);
    assert_eq!(requeued.status, VideoStatus::Queued);
    assert_eq!(requeued.blob_key, None);
    assert_eq!(requeued.video_duration, None);
    assert_eq!(
        one(&store, a.uid(), done.id).await.unwrap(),
        requeued,
        "returned = stored"
    );
    assert_eq!(store.blob_key_of(done.id).await.unwrap(), None);
    assert!(
        due_keys(&store, now + 1).await.contains(&key),
        "the old output is due for removal"
    );
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        40,
        "a requeue keeps the charge"
    );
    claim_expect(&store, "w", now + 2, now + MINUTE, done.id).await;

    // Fail refunds.
    let failed = store
        .force_status(
            queued.id,
            ForcedStatus::Fail("operator says no".into()),
            now + 3,
        )
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(failed.status, VideoStatus::Failed);
    assert_eq!(failed.error_reason.as_deref(), Some("operator says no"));
    assert_eq!(failed.deduction_credit, 0);
    assert_eq!(one(&store, a.uid(), queued.id).await.unwrap(), failed);
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        60,
        "refunded 20"
    );
    // Failing it again refunds nothing more.
    store
        .force_status(queued.id, ForcedStatus::Fail("again".into()), now + 4)
        .await
        .unwrap();
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 60);

    // Fail of a completed video: refunded, and a failed video has no output.
    let finished_key = render(&store, finished.id, now + 5).await;
    let failed = store
        .force_status(finished.id, ForcedStatus::Fail("withdrawn".into()), now + 6)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(
        (failed.status, failed.blob_key),
        (VideoStatus::Failed, None)
    );
    assert_eq!(store.blob_key_of(finished.id).await.unwrap(), None);
    assert!(due_keys(&store, now + 6).await.contains(&finished_key));
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        90,
        "refunded 30"
    );

    // Unknown id.
    let unknown = ObjectId::generate((T0 / 1000) as u64);
    assert_eq!(
        store
            .force_status(unknown, ForcedStatus::Requeue, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .force_status(unknown, ForcedStatus::Hold, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .force_status(unknown, ForcedStatus::Fail("x".into()), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 90);
}

pub async fn check_held_video_is_never_claimed_nor_reaped(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let queued = video(&a, T0, 10);
    let leased = video(&a, T0 + 1000, 10);
    store
        .create_videos(a.uid(), vec![queued.clone(), leased.clone()], T0)
        .await
        .unwrap();
    let now = T0 + 10_000;

    // Hold a queued video: no worker claims it.
    let held = store
        .force_status(queued.id, ForcedStatus::Hold, now)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(held.status, VideoStatus::Processing);
    claim_expect(&store, "w1", now, now + 10, leased.id).await;
    // Hold a claimed video whose lease is about to expire.
    store
        .force_status(leased.id, ForcedStatus::Hold, now)
        .await
        .unwrap()
        .expect("exists");
    assert!(store
        .claim_next("w1", now, now + 10)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.reap_expired(now + 10 * HOUR, 1).await.unwrap(),
        0,
        "held videos have no lease to expire"
    );
    assert!(store
        .claim_next("w1", now + 10 * HOUR, now + 11 * HOUR)
        .await
        .unwrap()
        .is_none());
    for id in [queued.id, leased.id] {
        let v = one(&store, a.uid(), id).await.unwrap();
        assert_eq!(
            (v.status, v.deduction_credit, v.error_reason),
            (VideoStatus::Processing, 10, None)
        );
    }
    // A held video counts as processing for deletes.
    let out = store
        .delete_videos(a.uid(), &[queued.id, leased.id], now)
        .await
        .unwrap();
    assert!(out.deleted.is_empty());
    assert_eq!(out.processing, vec![queued.id, leased.id]);
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 80);

    // Released by a requeue, it is claimable again.
    let back = store
        .force_status(queued.id, ForcedStatus::Requeue, now + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.status, VideoStatus::Queued);
    claim_expect(&store, "w2", now + 2, now + MINUTE, queued.id).await;
    assert!(store
        .claim_next("w2", now + 2, now + MINUTE)
        .await
        .unwrap()
        .is_none());
}
