//! The file-deletion outbox.

use std::collections::HashSet;
use std::sync::Arc;

use i2v::store::Store;

use super::support::*;

pub async fn check_blob_outbox(store: Arc<dyn Store>) {
    store.stage_blob("k1", T0 + 100).await.unwrap();
    store.stage_blob("k2", T0 + 200).await.unwrap();
    store.stage_blob("k3", T0 + 300).await.unwrap();

    assert!(
        store
            .due_blob_deletions(T0 + 50, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing due yet"
    );
    let mut due = due_keys(&store, T0 + 250).await;
    due.sort();
    assert_eq!(due, vec!["k1", "k2"], "not_before is respected");

    let all = store.due_blob_deletions(T0 + 1000, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    let ids: HashSet<i64> = all.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 3, "entries have distinct ids");
    let limited = store.due_blob_deletions(T0 + 1000, 2).await.unwrap();
    assert_eq!(limited.len(), 2, "limit is respected");
    assert!(limited.iter().all(|d| all.contains(d)));
    assert_eq!(
        store.due_blob_deletions(T0 + 1000, 1).await.unwrap().len(),
        1
    );
    let id_of = |key: &str| all.iter().find(|d| d.blob_key == key).unwrap().id;

    // Finished entries go away.
    store.finish_blob_deletion(id_of("k1")).await.unwrap();
    assert_eq!(due_keys(&store, T0 + 250).await, vec!["k2"]);
    store.finish_blob_deletion(id_of("k1")).await.unwrap(); // idempotent

    // A retry is pushed back to its next attempt, keeping its id.
    store
        .retry_blob_deletion(id_of("k2"), "disk on fire", T0 + 500)
        .await
        .unwrap();
    assert!(
        due_keys(&store, T0 + 250).await.is_empty(),
        "retried entry is not due before next_attempt"
    );
    let mut due = due_keys(&store, T0 + 400).await;
    due.sort();
    assert_eq!(due, vec!["k3"]);
    let later = store.due_blob_deletions(T0 + 500, 10).await.unwrap();
    let k2 = later
        .iter()
        .find(|d| d.blob_key == "k2")
        .expect("k2 due at next_attempt");
    assert_eq!(k2.id, id_of("k2"));
    assert_eq!(later.len(), 2);

    store.finish_blob_deletion(id_of("k2")).await.unwrap();
    store.finish_blob_deletion(id_of("k3")).await.unwrap();
    assert!(store
        .due_blob_deletions(i64::MAX / 2, 10)
        .await
        .unwrap()
        .is_empty());
}
