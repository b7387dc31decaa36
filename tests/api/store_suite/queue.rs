//! The render queue (DESIGN §5): fair claims, leases that fence every write, failures refunded.

use std::collections::HashSet;
use std::sync::Arc;

use i2v::domain::video::Video;
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{ForcedStatus, Store};

use super::support::*;

pub async fn check_claim_oldest_first_skipping_deleted(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    // Inserted out of create_time order, across two accounts.
    let late = video(&a, T0 + 3000, 1);
    let early = video(&a, T0 + 1000, 1);
    let mid = video(&b, T0 + 2000, 1);
    let earliest = video(&b, T0, 1);
    store
        .create_videos(a.uid(), vec![late.clone(), early.clone()], T0)
        .await
        .unwrap();
    store
        .create_videos(b.uid(), vec![mid.clone(), earliest.clone()], T0)
        .await
        .unwrap();

    // Deleted while queued: never claimed.
    let out = store
        .delete_videos(b.uid(), &[earliest.id], T0)
        .await
        .unwrap();
    assert_eq!(out.deleted, vec![earliest.id]);

    let now = T0 + 10_000;
    let claimed = claim_expect(&store, "w1", now, now + MINUTE, early.id).await;
    assert_eq!(claimed.attempts, 1, "a claim counts an attempt");
    assert_eq!(claimed.uid, a.uid());
    assert_eq!(
        status_of(&store, a.uid(), early.id).await,
        Some(VideoStatus::Processing)
    );
    assert_eq!(
        status_of(&store, a.uid(), late.id).await,
        Some(VideoStatus::Queued)
    );

    // Deleting a queued video between claims takes it out of the queue.
    store.delete_videos(a.uid(), &[late.id], now).await.unwrap();
    claim_expect(&store, "w2", now, now + MINUTE, mid.id).await;
    assert!(store
        .claim_next("w3", now, now + MINUTE)
        .await
        .unwrap()
        .is_none());
    assert!(one(&store, b.uid(), earliest.id).await.is_none());
    assert!(one(&store, a.uid(), late.id).await.is_none());
}

pub async fn check_complete_requires_lease(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    store
        .create_videos(a.uid(), vec![v.clone()], T0)
        .await
        .unwrap();
    let now = T0 + 1000;
    claim_expect(&store, "w1", now, now + MINUTE, v.id).await;
    let key = format!("videos/{}/a1.mp4", v.id);
    store.stage_blob(&key, now + HOUR).await.unwrap();
    assert!(due_keys(&store, now + HOUR).await.contains(&key), "staged");
    assert!(
        !due_keys(&store, now).await.contains(&key),
        "staged, not yet due"
    );

    // The wrong owner cannot finish it; nothing changes.
    assert!(!store
        .complete(completion(v.id, "w2", &key), now)
        .await
        .unwrap());
    let still = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(still.status, VideoStatus::Processing);
    assert_eq!(still.blob_key, None);
    assert_eq!(store.blob_key_of(v.id).await.unwrap(), None);
    assert!(
        due_keys(&store, now + HOUR).await.contains(&key),
        "the staged file stays scheduled"
    );

    // The lease holder can; its file leaves the outbox in the same step.
    assert!(store
        .complete(completion(v.id, "w1", &key), now + 5)
        .await
        .unwrap());
    let done = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(done.status, VideoStatus::Completed);
    assert_eq!(done.blob_key.as_deref(), Some(key.as_str()));
    assert_eq!(done.video_duration, Some(5.04));
    assert_eq!(done.error_reason, None);
    assert_eq!(
        done.deduction_credit, 10,
        "a completed video keeps its charge"
    );
    assert_eq!(store.blob_key_of(v.id).await.unwrap(), Some(key.clone()));
    assert!(
        !due_keys(&store, i64::MAX / 2).await.contains(&key),
        "completion took the file back"
    );
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 90);

    // Completing twice does nothing.
    let other_key = format!("videos/{}/a2.mp4", v.id);
    store.stage_blob(&other_key, now + HOUR).await.unwrap();
    assert!(!store
        .complete(completion(v.id, "w1", &other_key), now + 10)
        .await
        .unwrap());
    assert_eq!(store.blob_key_of(v.id).await.unwrap(), Some(key));
    assert!(due_keys(&store, now + HOUR).await.contains(&other_key));
    // And an unknown video cannot be completed.
    let unknown = ObjectId::generate((T0 / 1000) as u64);
    assert!(!store
        .complete(completion(unknown, "w1", "videos/x.mp4"), now)
        .await
        .unwrap());
}

pub async fn check_lost_lease_fences_the_worker(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let held = video(&a, T0, 10);
    let reaped = video(&a, T0 + 1000, 10);
    store
        .create_videos(a.uid(), vec![held.clone(), reaped.clone()], T0)
        .await
        .unwrap();
    let now = T0 + 10_000;

    // Lost to an operator hold.
    claim_expect(&store, "w1", now, now + MINUTE, held.id).await;
    let k1 = format!("videos/{}/a1.mp4", held.id);
    store.stage_blob(&k1, now + HOUR).await.unwrap();
    let forced = store
        .force_status(held.id, ForcedStatus::Hold, now)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(forced.status, VideoStatus::Processing);
    assert!(!store
        .heartbeat(held.id, "w1", now + 2 * MINUTE)
        .await
        .unwrap());
    assert!(!store
        .complete(completion(held.id, "w1", &k1), now)
        .await
        .unwrap());
    assert!(!store
        .fail(held.id, "w1", "late failure", now)
        .await
        .unwrap());
    let v = one(&store, a.uid(), held.id).await.unwrap();
    assert_eq!(
        (v.status, v.blob_key, v.error_reason),
        (VideoStatus::Processing, None, None)
    );
    assert!(
        due_keys(&store, now + HOUR).await.contains(&k1),
        "the fenced worker's file will be removed"
    );

    // Lost to the reaper.
    claim_expect(&store, "w1", now, now + 10, reaped.id).await;
    let k2 = format!("videos/{}/a1.mp4", reaped.id);
    store.stage_blob(&k2, now + HOUR).await.unwrap();
    assert_eq!(store.reap_expired(now + 20, 5).await.unwrap(), 1);
    assert_eq!(
        status_of(&store, a.uid(), reaped.id).await,
        Some(VideoStatus::Queued)
    );
    assert!(!store
        .heartbeat(reaped.id, "w1", now + MINUTE)
        .await
        .unwrap());
    assert!(!store
        .complete(completion(reaped.id, "w1", &k2), now + 30)
        .await
        .unwrap());
    assert!(!store
        .fail(reaped.id, "w1", "late failure", now + 30)
        .await
        .unwrap());
    let v = one(&store, a.uid(), reaped.id).await.unwrap();
    assert_eq!((v.status, v.blob_key), (VideoStatus::Queued, None));
    assert!(
        due_keys(&store, now + HOUR).await.contains(&k2),
        "the fenced worker's file will be removed"
    );

    // The new claim is a fresh lease; only its holder finishes the video.
    claim_expect(&store, "w2", now + 40, now + MINUTE, reaped.id).await;
    assert!(!store
        .complete(completion(reaped.id, "w1", &k2), now + 50)
        .await
        .unwrap());
    let k3 = format!("videos/{}/a2.mp4", reaped.id);
    store.stage_blob(&k3, now + HOUR).await.unwrap();
    assert!(store
        .complete(completion(reaped.id, "w2", &k3), now + 50)
        .await
        .unwrap());
    let keys = due_keys(&store, now + HOUR).await;
    assert!(keys.contains(&k2) && !keys.contains(&k3), "{keys:?}");
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        80,
        "no refund for lost leases"
    );
}

pub async fn check_fail_refunds(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 30);
    store
        .create_videos(a.uid(), vec![v.clone()], T0)
        .await
        .unwrap();
    assert_eq!(balance(&store, a.uid()).await, 70);
    let now = T0 + 1000;
    claim_expect(&store, "w1", now, now + MINUTE, v.id).await;

    // Not ours: nothing happens.
    assert!(!store.fail(v.id, "w2", "not mine", now).await.unwrap());
    assert_eq!(balance(&store, a.uid()).await, 70);
    let still = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(
        (still.status, still.deduction_credit, still.error_reason),
        (VideoStatus::Processing, 30, None)
    );

    assert!(store
        .fail(v.id, "w1", "model crashed", now + 1)
        .await
        .unwrap());
    let failed = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(failed.status, VideoStatus::Failed);
    assert_eq!(failed.deduction_credit, 0);
    assert_eq!(failed.error_reason.as_deref(), Some("model crashed"));
    assert_eq!(failed.blob_key, None);
    assert_eq!(failed.update_time, now + 1);
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        100,
        "refunded"
    );

    // Failing twice refunds once.
    assert!(!store.fail(v.id, "w1", "again", now + 2).await.unwrap());
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 100);
    assert!(
        store
            .claim_next("w1", now, now + MINUTE)
            .await
            .unwrap()
            .is_none(),
        "a failed video is not requeued"
    );
}

pub async fn check_heartbeat_extends_only_own_lease(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    store
        .create_videos(a.uid(), vec![v.clone()], T0)
        .await
        .unwrap();
    let now = T0 + 1000;
    claim_expect(&store, "w1", now, now + 10, v.id).await;

    assert!(
        !store.heartbeat(v.id, "w2", now + 1000).await.unwrap(),
        "not w2's lease"
    );
    assert!(store.heartbeat(v.id, "w1", now + 1000).await.unwrap());
    assert_eq!(
        store.reap_expired(now + 500, 5).await.unwrap(),
        0,
        "the extended lease is alive"
    );
    assert_eq!(
        status_of(&store, a.uid(), v.id).await,
        Some(VideoStatus::Processing)
    );
    let unknown = ObjectId::generate((T0 / 1000) as u64);
    assert!(!store.heartbeat(unknown, "w1", now + 1000).await.unwrap());

    // Other owner's heartbeat does not keep the lease alive either.
    assert!(!store.heartbeat(v.id, "w2", now + 100_000).await.unwrap());
    assert_eq!(
        store.reap_expired(now + 2000, 5).await.unwrap(),
        1,
        "w1's lease expired at now + 1000"
    );
    assert_eq!(
        status_of(&store, a.uid(), v.id).await,
        Some(VideoStatus::Queued)
    );
    assert!(
        !store.heartbeat(v.id, "w1", now + 100_000).await.unwrap(),
        "a queued video has no lease"
    );

    // A second claim with a short lease; a foreign heartbeat must not save it.
    claim_expect(&store, "w3", now + 3000, now + 3010, v.id).await;
    assert!(!store.heartbeat(v.id, "w1", now + 100_000).await.unwrap());
    assert_eq!(store.reap_expired(now + 3100, 5).await.unwrap(), 1);
    assert_eq!(
        status_of(&store, a.uid(), v.id).await,
        Some(VideoStatus::Queued)
    );
}

pub async fn check_concurrent_claims(store: Arc<dyn Store>) {
    let a = new_account(&store, 1000).await;
    let videos: Vec<Video> = (0..20).map(|i| video(&a, T0 + i * 1000, 1)).collect();
    store
        .create_videos(a.uid(), videos.clone(), T0)
        .await
        .unwrap();
    let now = T0 + 100_000;

    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let owner = format!("worker-{w}");
                let mut mine = Vec::new();
                while let Some(v) = store.claim_next(&owner, now, now + HOUR).await.unwrap() {
                    assert_eq!(v.status, VideoStatus::Processing);
                    mine.push(v.id);
                    tokio::task::yield_now().await;
                }
                // Every claim is a lease of this owner: it can finish what it claimed.
                for id in &mine {
                    let key = format!("videos/{id}/a1.mp4");
                    assert!(store
                        .complete(completion(*id, &owner, &key), now + 1)
                        .await
                        .unwrap());
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.expect("claim task"));
    }
    assert_eq!(claimed.len(), 20, "20 claims in all: {claimed:?}");
    let unique: HashSet<ObjectId> = claimed.iter().copied().collect();
    let expected: HashSet<ObjectId> = videos.iter().map(|v| v.id).collect();
    assert_eq!(unique, expected, "every video claimed exactly once");
    let ids: Vec<ObjectId> = videos.iter().map(|v| v.id).collect();
    let stored = store.videos_by_ids(a.uid(), &ids).await.unwrap();
    assert!(stored
        .iter()
        .all(|v| v.status == VideoStatus::Completed && v.attempts == 1));
    assert!(store
        .claim_next("late", now, now + HOUR)
        .await
        .unwrap()
        .is_none());
}
