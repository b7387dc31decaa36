//! Deleting videos (DESIGN §4): alone, sent together, and racing claims and each other.

use std::collections::HashSet;
use std::sync::Arc;

use i2v::domain::video::Video;
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{DeleteOutcome, Store};

use super::support::*;

pub async fn check_delete_videos(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    // Queue order (create_time): c, f, p (a's), bp (b's), then q (a's), bq (b's).
    let c = video(&a, T0, 10);
    let f = video(&a, T0 + 1000, 10);
    let p = video(&a, T0 + 2000, 10);
    let bp = video(&b, T0 + 3000, 10);
    let q = video(&a, T0 + 4000, 10);
    let bq = video(&b, T0 + 5000, 10);
    store
        .create_videos(
            a.uid(),
            vec![c.clone(), f.clone(), p.clone(), q.clone()],
            T0,
        )
        .await
        .unwrap();
    store
        .create_videos(b.uid(), vec![bp.clone(), bq.clone()], T0)
        .await
        .unwrap();

    let now = T0 + 10_000;
    let c_key = render(&store, c.id, now).await;
    claim_expect(&store, "w", now, now + MINUTE, f.id).await;
    assert!(store.fail(f.id, "w", "boom", now).await.unwrap());
    claim_expect(&store, "w", now, now + MINUTE, p.id).await;
    claim_expect(&store, "w", now, now + MINUTE, bp.id).await;
    assert_eq!(store.blob_key_of(c.id).await.unwrap(), Some(c_key.clone()));
    assert!(
        !due_keys(&store, i64::MAX / 2).await.contains(&c_key),
        "completion took the file back"
    );
    let a_before = assert_ledger_matches(&store, a.uid()).await;
    let b_before = assert_ledger_matches(&store, b.uid()).await;

    let unknown = ObjectId::generate((T0 / 1000) as u64);
    let request = [p.id, unknown, bq.id, c.id, bp.id, q.id, f.id];
    let out = store.delete_videos(a.uid(), &request, now).await.unwrap();
    assert_eq!(
        out.deleted,
        vec![c.id, q.id, f.id],
        "caller's statuses 1/3/4, in request order"
    );
    assert_eq!(
        out.processing,
        vec![p.id],
        "only the caller's processing video is reported"
    );
    assert_eq!(out.files.len(), 1, "{:?}", out.files);
    assert_eq!(out.files[0].blob_key, c_key);
    let due = store.due_blob_deletions(now, 1000).await.unwrap();
    assert!(
        due.contains(&out.files[0]),
        "the deleted output is in the outbox: {due:?}"
    );
    assert_eq!(
        store.blob_key_of(c.id).await.unwrap(),
        None,
        "the output is gone with the row"
    );

    // What is left: a's processing video; b's videos are untouched.
    let left = store.videos_by_ids(a.uid(), &request).await.unwrap();
    assert_eq!(left.iter().map(|v| v.id).collect::<Vec<_>>(), vec![p.id]);
    assert_eq!(left[0].status, VideoStatus::Processing);
    let b_left = store.videos_by_ids(b.uid(), &[bp.id, bq.id]).await.unwrap();
    assert_eq!(
        b_left.iter().map(|v| (v.id, v.status)).collect::<Vec<_>>(),
        vec![
            (bp.id, VideoStatus::Processing),
            (bq.id, VideoStatus::Queued)
        ]
    );

    // Deleting does not touch balances, and the ledgers still explain them.
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, a_before);
    assert_eq!(assert_ledger_matches(&store, b.uid()).await, b_before);

    // A second time: nothing is deleted again, no file is staged again.
    let again = store
        .delete_videos(a.uid(), &request, now + 1)
        .await
        .unwrap();
    assert!(again.deleted.is_empty(), "{again:?}");
    assert_eq!(again.processing, vec![p.id]);
    assert!(again.files.is_empty());
    let c_entries = due_keys(&store, i64::MAX / 2)
        .await
        .into_iter()
        .filter(|k| *k == c_key)
        .count();
    assert_eq!(c_entries, 1, "the file is scheduled for removal once");

    // b can delete its queued video but not its processing one; a's processing video is not b's.
    let out = store
        .delete_videos(b.uid(), &[p.id, bq.id, bp.id], now)
        .await
        .unwrap();
    assert_eq!(out.deleted, vec![bq.id]);
    assert_eq!(out.processing, vec![bp.id]);
    assert!(out.files.is_empty());
    assert_eq!(
        status_of(&store, a.uid(), p.id).await,
        Some(VideoStatus::Processing)
    );

    // Once the lease ends the video can be deleted.
    assert!(store
        .complete(completion(p.id, "w", "videos/p.mp4"), now)
        .await
        .unwrap());
    let out = store.delete_videos(a.uid(), &[p.id], now).await.unwrap();
    assert_eq!(out.deleted, vec![p.id]);
    assert!(out.processing.is_empty());
    assert_eq!(
        out.files
            .iter()
            .map(|f| f.blob_key.as_str())
            .collect::<Vec<_>>(),
        vec!["videos/p.mp4"]
    );
    assert_eq!(
        store.delete_videos(a.uid(), &[], now).await.unwrap(),
        DeleteOutcome::default()
    );
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, a_before);
}

/// Deletes sent together (which a backend may commit in one transaction) are each answered as
/// if they had run alone, one after another: every id goes with exactly one request, in that
/// request's order, and nothing of another account or of a processing video goes at all.
pub async fn check_deletes_sent_together(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    let c = video(&a, T0, 10);
    let p = video(&a, T0 + 1000, 10);
    let x = video(&a, T0 + 2000, 10);
    let y = video(&a, T0 + 3000, 10);
    let z = video(&a, T0 + 4000, 10);
    let bx = video(&b, T0 + 5000, 10);
    store
        .create_videos(
            a.uid(),
            vec![c.clone(), p.clone(), x.clone(), y.clone(), z.clone()],
            T0,
        )
        .await
        .unwrap();
    store
        .create_videos(b.uid(), vec![bx.clone()], T0)
        .await
        .unwrap();
    let now = T0 + 10_000;
    let c_key = render(&store, c.id, now).await;
    claim_expect(&store, "w", now, now + MINUTE, p.id).await;
    let a_before = assert_ledger_matches(&store, a.uid()).await;

    let requests = [
        (a.uid(), vec![x.id, y.id]),
        (a.uid(), vec![y.id, z.id, c.id]),
        (b.uid(), vec![x.id, bx.id, z.id]),
        (a.uid(), vec![p.id]),
        (a.uid(), vec![]),
    ];
    let tasks: Vec<_> = requests
        .iter()
        .cloned()
        .map(|(uid, ids)| {
            let store = store.clone();
            tokio::spawn(async move { store.delete_videos(uid, &ids, now).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("delete task"));
    }

    let mut deleted = Vec::new();
    for ((_, ids), outcome) in requests.iter().zip(&outcomes) {
        let in_order: Vec<ObjectId> = ids
            .iter()
            .copied()
            .filter(|id| outcome.deleted.contains(id))
            .collect();
        assert_eq!(
            outcome.deleted, in_order,
            "in request order, only what was asked"
        );
        deleted.extend(outcome.deleted.iter().copied());
    }
    deleted.sort();
    let mut expected = vec![c.id, x.id, y.id, z.id, bx.id];
    expected.sort();
    assert_eq!(deleted, expected, "each id deleted by exactly one request");
    assert!(outcomes[0].deleted.contains(&x.id));
    assert!(outcomes[1].deleted.contains(&z.id) && outcomes[1].deleted.contains(&c.id));
    assert_eq!(
        outcomes[2].deleted,
        vec![bx.id],
        "another account's ids are never deleted"
    );
    assert_eq!(outcomes[3].deleted, Vec::<ObjectId>::new());
    assert_eq!(outcomes[3].processing, vec![p.id]);
    assert_eq!(outcomes[4], DeleteOutcome::default());
    let files: Vec<&str> = outcomes
        .iter()
        .flat_map(|o| o.files.iter().map(|f| f.blob_key.as_str()))
        .collect();
    assert_eq!(files, vec![c_key.as_str()]);
    assert_eq!(
        outcomes[1].files.len(),
        1,
        "the file goes with its video's request"
    );

    assert_eq!(
        status_of(&store, a.uid(), p.id).await,
        Some(VideoStatus::Processing)
    );
    for id in [c.id, x.id, y.id, z.id] {
        assert!(one(&store, a.uid(), id).await.is_none());
    }
    assert!(one(&store, b.uid(), bx.id).await.is_none());
    let staged = due_keys(&store, i64::MAX / 2)
        .await
        .into_iter()
        .filter(|k| *k == c_key)
        .count();
    assert_eq!(staged, 1, "the file is scheduled for removal once");
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, a_before);
}

pub async fn check_concurrent_deletes_of_one_id(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    store
        .create_videos(a.uid(), vec![v.clone()], T0)
        .await
        .unwrap();
    let key = render(&store, v.id, T0 + 1000).await;

    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = store.clone();
            let (uid, id) = (a.uid(), v.id);
            tokio::spawn(async move {
                store
                    .delete_videos(uid, &[id], T0 + 2000 + i)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("delete task"));
    }
    let winners = outcomes.iter().filter(|o| o.deleted == vec![v.id]).count();
    assert_eq!(winners, 1, "exactly one delete succeeds: {outcomes:?}");
    for o in &outcomes {
        assert!(o.processing.is_empty());
        assert!(o.deleted.is_empty() || o.deleted == vec![v.id]);
    }
    let files: Vec<_> = outcomes.iter().flat_map(|o| o.files.iter()).collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].blob_key, key);
    let staged = due_keys(&store, i64::MAX / 2)
        .await
        .into_iter()
        .filter(|k| *k == key)
        .count();
    assert_eq!(staged, 1, "the file is scheduled for removal exactly once");
    assert!(one(&store, a.uid(), v.id).await.is_none());
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 90);
}

/// Deletes racing claims and completions on the same ids, round after round: a processing video
/// is never deleted, a deleted video is never claimed or completed, nothing is deleted twice, and
/// the money adds up. On PostgreSQL this runs at READ COMMITTED (see `store/postgres.rs`).
pub async fn check_deletes_racing_claims(store: Arc<dyn Store>) {
    let a = new_account(&store, 10_000).await;
    for round in 0..8i64 {
        let start = T0 + round * HOUR;
        let videos: Vec<Video> = (0..24).map(|i| video(&a, start + i, 1)).collect();
        let ids: Vec<ObjectId> = videos.iter().map(|v| v.id).collect();
        store.create_videos(a.uid(), videos, start).await.unwrap();
        let now = start + MINUTE;

        let claimers: Vec<_> = (0..3)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let owner = format!("racer-{w}");
                    let (mut claimed, mut completed) = (Vec::new(), Vec::new());
                    while let Some(v) = store.claim_next(&owner, now, now + HOUR).await.unwrap() {
                        claimed.push(v.id);
                        // Every other claim finishes at once; the rest stay processing.
                        if claimed.len() % 2 == 0 {
                            let key = format!("videos/{}/r.mp4", v.id);
                            store.stage_blob(&key, now + HOUR).await.unwrap();
                            if store
                                .complete(completion(v.id, &owner, &key), now)
                                .await
                                .unwrap()
                            {
                                completed.push(v.id);
                            }
                        }
                        tokio::task::yield_now().await;
                    }
                    (claimed, completed)
                })
            })
            .collect();
        let deleters: Vec<_> = (0..3)
            .map(|d| {
                let store = store.clone();
                let ids = ids.clone();
                let uid = a.uid();
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    for pass in 0..4 {
                        // Different slices each time, so deleters overlap only partly.
                        let from = (d * 5 + pass * 3) % ids.len();
                        let slice: Vec<ObjectId> =
                            ids.iter().cycle().skip(from).take(10).copied().collect();
                        outcomes.push(store.delete_videos(uid, &slice, now).await.unwrap());
                        tokio::task::yield_now().await;
                    }
                    outcomes
                })
            })
            .collect();

        let (mut claimed, mut completed) = (HashSet::new(), HashSet::new());
        for task in claimers {
            let (c, done) = task.await.expect("claimer");
            for id in c {
                assert!(claimed.insert(id), "{id} claimed twice");
            }
            completed.extend(done);
        }
        let mut outcomes: Vec<DeleteOutcome> = Vec::new();
        for task in deleters {
            outcomes.extend(task.await.expect("deleter"));
        }
        // The dust has settled: one more delete of everything takes what is left but processing.
        outcomes.push(store.delete_videos(a.uid(), &ids, now + 1).await.unwrap());

        let mut deleted = HashSet::new();
        for o in &outcomes {
            for id in &o.deleted {
                assert!(deleted.insert(*id), "{id} deleted twice");
                assert!(!o.processing.contains(id));
            }
        }
        for id in &ids {
            let stored = one(&store, a.uid(), *id).await;
            match (
                claimed.contains(id),
                completed.contains(id),
                deleted.contains(id),
            ) {
                // Claimed and still rendering: never deleted, still there, still processing.
                (true, false, false) => assert_eq!(
                    stored.map(|v| v.status),
                    Some(VideoStatus::Processing),
                    "{id} (round {round})"
                ),
                // Claimed, finished, then deleted: allowed.
                (true, true, true) => assert!(stored.is_none()),
                // Deleted while queued: never claimed.
                (false, false, true) => assert!(stored.is_none()),
                other => panic!("{id} in round {round}: claimed/completed/deleted = {other:?}"),
            }
        }
        assert_ledger_matches(&store, a.uid()).await;
        // Every deleted finished video has its file scheduled for removal.
        let due: HashSet<String> = due_keys(&store, i64::MAX / 2).await.into_iter().collect();
        for id in completed.iter().filter(|id| deleted.contains(id)) {
            assert!(due.contains(&format!("videos/{id}/r.mp4")), "{id}'s file");
        }
    }
}
