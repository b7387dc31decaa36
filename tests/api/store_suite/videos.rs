//! Creating and reading videos: charged all or nothing, read back as stored, scoped to the
//! caller, in request order.

use std::sync::Arc;

use i2v::domain::video::{Video, VideoKind};
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{Store, StoreError};

use super::support::*;

pub async fn check_create_videos_charges_atomically(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let mut batch: Vec<Video> = (0..3)
        .map(|i| video(&a, T0 + i * 1000, 10 * (i + 1)))
        .collect();
    for (i, v) in batch.iter_mut().enumerate() {
        v.kind = VideoKind::Batch;
        v.batch_id = Some("batch-1".into());
        v.batch_count = Some(3);
        v.pre_video_id = (i > 0).then(|| ObjectId::parse("6650aa11bb22cc33dd44ee55").unwrap());
        v.generate_audio = i == 1;
        v.is_premium_model = i == 2;
    }
    store
        .create_videos(a.uid(), batch.clone(), T0)
        .await
        .unwrap();
    assert_eq!(balance(&store, a.uid()).await, 40, "charged 10 + 20 + 30");
    let ids: Vec<ObjectId> = batch.iter().map(|v| v.id).collect();
    let stored = store.videos_by_ids(a.uid(), &ids).await.unwrap();
    assert_eq!(
        stored, batch,
        "every field reads back as written, status queued"
    );

    // 30 + 20 = 50 > 40: nothing is inserted and nothing is charged.
    let too_dear = vec![video(&a, T0 + 5000, 30), video(&a, T0 + 6000, 20)];
    match store.create_videos(a.uid(), too_dear.clone(), T0).await {
        Err(StoreError::InsufficientCredits { balance, needed }) => {
            assert_eq!((balance, needed), (40, 50))
        }
        other => panic!("expected InsufficientCredits, got {other:?}"),
    }
    let too_dear_ids: Vec<ObjectId> = too_dear.iter().map(|v| v.id).collect();
    assert!(store
        .videos_by_ids(a.uid(), &too_dear_ids)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 40);
    // Nothing of the refused batch reached the queue either.
    for v in &batch {
        claim_expect(&store, "w", T0, T0 + MINUTE, v.id).await;
    }
    assert!(store
        .claim_next("w", T0, T0 + MINUTE)
        .await
        .unwrap()
        .is_none());

    // Exactly the balance is fine.
    let exact = video(&a, T0 + 7000, 40);
    store
        .create_videos(a.uid(), vec![exact.clone()], T0)
        .await
        .unwrap();
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 0);
    assert_eq!(
        status_of(&store, a.uid(), exact.id).await,
        Some(VideoStatus::Queued)
    );

    // Unknown account.
    assert!(matches!(
        store
            .create_videos(NO_UID, vec![video(&a, T0 + 8000, 1)], T0)
            .await,
        Err(StoreError::NoSuchAccount(NO_UID))
    ));
}

pub async fn check_videos_by_ids_scoping_and_order(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    let (v1, v2, v3) = (
        video(&a, T0, 1),
        video(&a, T0 + 1000, 1),
        video(&a, T0 + 2000, 1),
    );
    let w1 = video(&b, T0 + 500, 1);
    store
        .create_videos(a.uid(), vec![v1.clone(), v2.clone(), v3.clone()], T0)
        .await
        .unwrap();
    store
        .create_videos(b.uid(), vec![w1.clone()], T0)
        .await
        .unwrap();
    let unknown = ObjectId::generate((T0 / 1000) as u64);

    let got = store
        .videos_by_ids(a.uid(), &[v3.id, unknown, w1.id, v1.id])
        .await
        .unwrap();
    let got_ids: Vec<ObjectId> = got.iter().map(|v| v.id).collect();
    assert_eq!(
        got_ids,
        vec![v3.id, v1.id],
        "only the caller's, in request order"
    );
    assert_eq!(got[0], v3);
    assert_eq!(got[1], v1);

    let got = store
        .videos_by_ids(a.uid(), &[v2.id, v1.id, v3.id])
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![v2.id, v1.id, v3.id]
    );

    let got = store
        .videos_by_ids(b.uid(), &[v1.id, v2.id, v3.id, w1.id])
        .await
        .unwrap();
    assert_eq!(got, vec![w1.clone()]);
    assert!(store
        .videos_by_ids(b.uid(), &[v1.id])
        .await
        .unwrap()
        .is_empty());
    assert!(store.videos_by_ids(a.uid(), &[]).await.unwrap().is_empty());
    assert!(store
        .videos_by_ids(NO_UID, &[v1.id, w1.id])
        .await
        .unwrap()
        .is_empty());
}
