//! Renders that end without an output: reaped, retried later, released; and outputs expired by
//! retention.

use std::sync::Arc;

use i2v::domain::VideoStatus;
use i2v::store::{Completion, Store};

use super::support::*;

pub async fn check_reap_expired(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 25);
    let alive = video(&a, T0 + 1000, 5);
    store
        .create_videos(a.uid(), vec![v.clone(), alive.clone()], T0)
        .await
        .unwrap();
    assert_eq!(balance(&store, a.uid()).await, 70);

    // Attempt 1 expires: back to the queue, still charged.
    let now = T0 + 10_000;
    claim_expect(&store, "w1", now, now + 10, v.id).await;
    claim_expect(&store, "w1", now, now + HOUR, alive.id).await;
    assert_eq!(
        store.reap_expired(now + 5, 2).await.unwrap(),
        0,
        "nothing has expired yet"
    );
    assert_eq!(store.reap_expired(now + 20, 2).await.unwrap(), 1);
    let requeued = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(requeued.status, VideoStatus::Queued);
    assert_eq!(requeued.attempts, 1);
    assert_eq!(requeued.deduction_credit, 25);
    assert_eq!(requeued.error_reason, None);
    assert_eq!(balance(&store, a.uid()).await, 70);
    assert_eq!(
        status_of(&store, a.uid(), alive.id).await,
        Some(VideoStatus::Processing),
        "a live lease stays"
    );

    // Attempt 2 (= max_attempts) expires: failed and refunded.
    let claimed = claim_expect(&store, "w2", now + 30, now + 40, v.id).await;
    assert_eq!(claimed.attempts, 2);
    assert_eq!(store.reap_expired(now + 50, 2).await.unwrap(), 1);
    let failed = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(failed.status, VideoStatus::Failed);
    assert_eq!(failed.deduction_credit, 0);
    assert!(
        failed
            .error_reason
            .as_deref()
            .is_some_and(|r| !r.is_empty()),
        "{failed:?}"
    );
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        95,
        "refunded 25"
    );
    assert!(!store
        .complete(completion(v.id, "w2", "videos/late.mp4"), now + 60)
        .await
        .unwrap());
    assert!(store
        .claim_next("w3", now + 60, now + HOUR)
        .await
        .unwrap()
        .is_none());

    // Reaping again finds nothing (failed videos are not reaped twice, no double refund).
    assert_eq!(store.reap_expired(now + 70, 2).await.unwrap(), 0);
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 95);
    assert_eq!(
        status_of(&store, a.uid(), alive.id).await,
        Some(VideoStatus::Processing)
    );
}

pub async fn check_retry_later(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let now = 1_700_000_000_000;
    let v = video(&a, now, 20);
    store
        .create_videos(a.uid(), vec![v.clone()], now)
        .await
        .unwrap();
    claim_expect(&store, "w1", now + 1, now + 60_000, v.id).await;
    assert!(
        !store
            .retry_later(v.id, "w2", now + 1000, "down", 2, now + 2)
            .await
            .unwrap(),
        "not w2's lease"
    );
    assert!(store
        .retry_later(v.id, "w1", now + 1000, "down", 2, now + 2)
        .await
        .unwrap());
    assert_eq!(
        status_of(&store, a.uid(), v.id).await,
        Some(VideoStatus::Queued)
    );
    assert!(
        store
            .claim_next("w3", now + 999, now + 60_000)
            .await
            .unwrap()
            .is_none(),
        "not before run_after"
    );
    claim_expect(&store, "w3", now + 1000, now + 60_000, v.id).await;
    // The second claim was the last allowed: the video fails and is refunded.
    assert!(store
        .retry_later(v.id, "w3", now + 5000, "still down", 2, now + 1001)
        .await
        .unwrap());
    let failed = store.videos_by_ids(a.uid(), &[v.id]).await.unwrap();
    assert_eq!(failed[0].status, VideoStatus::Failed);
    assert_eq!(
        failed[0].error_reason.as_deref(),
        Some("gave up after 2 attempts: still down")
    );
    assert_eq!(balance(&store, a.uid()).await, 100);
}

pub async fn check_release_and_expire_outputs(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let now = 1_700_000_000_000;
    let v = video(&a, now, 20);
    store
        .create_videos(a.uid(), vec![v.clone()], now)
        .await
        .unwrap();
    claim_expect(&store, "w1", now + 10, now + 60_000, v.id).await;
    assert!(
        !store.release(v.id, "w2", now + 20).await.unwrap(),
        "only the lease holder releases"
    );
    assert!(store.release(v.id, "w1", now + 20).await.unwrap());
    assert_eq!(
        status_of(&store, a.uid(), v.id).await,
        Some(VideoStatus::Queued)
    );
    assert!(
        !store.heartbeat(v.id, "w1", now + 100_000).await.unwrap(),
        "the lease is gone"
    );
    // A released claim does not count against max_attempts.
    let again = store
        .claim_next("w3", now + 30, now + 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 1);
    let done = Completion {
        id: v.id,
        owner: "w3".into(),
        blob_key: "videos/x/a.mp4".into(),
        video_duration: 5.0,
    };
    assert!(store.complete(done, now + 40).await.unwrap());

    // Retention: only outputs completed before the cutoff are forgotten; records stay.
    assert_eq!(
        store.expire_outputs(now + 40, now + 50, 10).await.unwrap(),
        0
    );
    assert_eq!(
        store.expire_outputs(now + 41, now + 50, 10).await.unwrap(),
        1
    );
    let kept = store.videos_by_ids(a.uid(), &[v.id]).await.unwrap();
    assert_eq!(kept[0].status, VideoStatus::Completed);
    assert_eq!(kept[0].blob_key, None);
    assert_eq!(store.blob_key_of(v.id).await.unwrap(), None);
    let due = store.due_blob_deletions(now + 50, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.blob_key.as_str()).collect::<Vec<_>>(),
        vec!["videos/x/a.mp4"]
    );
    assert_eq!(
        store.expire_outputs(i64::MAX, now + 60, 10).await.unwrap(),
        0,
        "nothing left to expire"
    );
}
