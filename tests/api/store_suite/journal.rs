//! The request journal (admin API): appends in order, reads newest first through the filters,
//! each account's entries (and those of no account, together) kept to the newest few.

use std::sync::Arc;

use i2v::store::{JournalEntry, JournalFilter, Store};

use super::support::*;

const CREATE: &str = "/api/open/v3/content/video/createbysourceprompt";
const RESULTS: &str = "/api/open/v3/content/video/resultsbyids";

fn entry(uid: Option<i64>, path: &str, code: Option<i64>, n: i64) -> JournalEntry {
    JournalEntry {
        id: 0,
        at_ms: T0 + n,
        uid,
        method: "POST".into(),
        path: path.into(),
        query: if n % 2 == 0 {
            String::new()
        } else {
            format!("n={n}")
        },
        // Some bodies long enough that a backend may keep them compressed (both do), with
        // text that is not ASCII: they must read back as written.
        request_body: if n == 5 {
            format!(
                "{{\"n\":{n},\"prompt\":\"{}\"}}",
                "ein Bär am Strand ".repeat(60)
            )
        } else {
            format!("{{\"n\":{n}}}")
        },
        status: if n % 3 == 0 { None } else { Some(200) },
        code,
        response_body: if n == 2 {
            let record = r#"{"_id":"6740a1b2c3d4e5f601234567","status":3,"prompt":"café"},"#;
            format!("{{\"code\":1000,\"data\":[{}]}}", record.repeat(50))
        } else {
            format!("{{\"code\":{}}}", code.unwrap_or(0))
        },
        latency_ms: n,
        fault: (n % 4 == 0).then(|| "{\"drop\":\"before\"}".to_owned()),
    }
}

fn all(limit: i64) -> JournalFilter {
    JournalFilter {
        limit,
        ..JournalFilter::default()
    }
}

async fn ids(store: &Arc<dyn Store>, filter: JournalFilter) -> Vec<i64> {
    store
        .requests(&filter)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect()
}

/// The `n` (from the latency) of each entry of the group, newest first.
async fn ns_of(store: &Arc<dyn Store>, uid: Option<i64>) -> Vec<i64> {
    store
        .requests(&all(1000))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.uid == uid)
        .map(|e| e.latency_ms)
        .collect()
}

pub async fn check_journal_append_and_read(store: Arc<dyn Store>) {
    let a = new_account(&store, 0).await;
    let b = new_account(&store, 0).await;
    assert!(store.requests(&all(10)).await.unwrap().is_empty());
    store.append_requests(&[], 10).await.unwrap();

    let batch = vec![
        entry(Some(a.uid()), CREATE, Some(1000), 1),
        entry(Some(b.uid()), RESULTS, Some(1000), 2),
        entry(None, RESULTS, Some(1101), 3),
        entry(Some(a.uid()), RESULTS, None, 4),
        entry(Some(a.uid()), CREATE, Some(1101), 5),
    ];
    store.append_requests(&batch, 100).await.unwrap();
    let read = store.requests(&all(100)).await.unwrap();
    assert_eq!(read.len(), 5);
    // Newest first; ids follow the order of the batch; everything else reads back as written.
    let mut oldest_first = read.clone();
    oldest_first.reverse();
    assert!(oldest_first.windows(2).all(|w| w[0].id < w[1].id));
    for (got, sent) in oldest_first.iter().zip(&batch) {
        assert_eq!(
            got,
            &JournalEntry {
                id: got.id,
                ..sent.clone()
            }
        );
    }
    let id = |n: usize| oldest_first[n - 1].id;

    // A second batch numbers after the first.
    store
        .append_requests(&[entry(Some(b.uid()), CREATE, Some(1000), 6)], 100)
        .await
        .unwrap();
    let newest = ids(&store, all(1)).await;
    assert_eq!(newest.len(), 1);
    assert!(newest[0] > id(5));
    let id6 = newest[0];

    let filtered = |f: JournalFilter| ids(&store, JournalFilter { limit: 100, ..f });
    assert_eq!(
        filtered(JournalFilter {
            uid: Some(a.uid()),
            ..JournalFilter::default()
        })
        .await,
        vec![id(5), id(4), id(1)]
    );
    assert_eq!(
        filtered(JournalFilter {
            path: Some(RESULTS.into()),
            ..JournalFilter::default()
        })
        .await,
        vec![id(4), id(3), id(2)]
    );
    assert_eq!(
        filtered(JournalFilter {
            code: Some(1101),
            ..JournalFilter::default()
        })
        .await,
        vec![id(5), id(3)]
    );
    assert_eq!(
        filtered(JournalFilter {
            since_id: Some(id(3)),
            ..JournalFilter::default()
        })
        .await,
        vec![id6, id(5), id(4)]
    );
    assert_eq!(
        filtered(JournalFilter {
            uid: Some(a.uid()),
            path: Some(CREATE.into()),
            code: Some(1000),
            since_id: Some(0),
            ..JournalFilter::default()
        })
        .await,
        vec![id(1)]
    );
    assert_eq!(
        filtered(JournalFilter {
            uid: Some(NO_UID),
            ..JournalFilter::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&store, all(2)).await, vec![id6, id(5)]);
    assert!(ids(&store, all(0)).await.is_empty());

    // Clearing one account leaves the others' and those of no account; clearing all empties it.
    assert_eq!(store.clear_requests(Some(a.uid())).await.unwrap(), 3);
    assert_eq!(ids(&store, all(100)).await, vec![id6, id(3), id(2)]);
    assert_eq!(store.clear_requests(Some(NO_UID)).await.unwrap(), 0);
    assert_eq!(store.clear_requests(None).await.unwrap(), 3);
    assert!(ids(&store, all(100)).await.is_empty());
    // Ids are not handed out again after a clear, so a reader's since_id stays meaningful.
    store
        .append_requests(&[entry(None, CREATE, None, 7)], 100)
        .await
        .unwrap();
    assert!(ids(&store, all(1)).await[0] > id6);
}

pub async fn check_journal_keeps_the_newest_of_each_account(store: Arc<dyn Store>) {
    let a = new_account(&store, 0).await;
    let b = new_account(&store, 0).await;
    let (a, b) = (Some(a.uid()), Some(b.uid()));
    // One batch, the groups interleaved: a 1..=5, b 6..=7, no account 8..=11.
    let mut batch = Vec::new();
    for n in 1..=11 {
        let uid = match n {
            1..=5 => a,
            6 | 7 => b,
            _ => None,
        };
        batch.push(entry(uid, RESULTS, Some(1000), n));
    }
    batch.swap(1, 7);
    batch.swap(3, 9);
    store.append_requests(&batch, 3).await.unwrap();
    // Newest by append order, which is the batch's.
    let newest = |uid: Option<i64>, keep: usize| -> Vec<i64> {
        let mut ns: Vec<i64> = batch
            .iter()
            .filter(|e| e.uid == uid)
            .map(|e| e.latency_ms)
            .collect();
        ns.reverse();
        ns.truncate(keep);
        ns
    };
    assert_eq!(ns_of(&store, a).await, newest(a, 3));
    assert_eq!(ns_of(&store, b).await, newest(b, 3));
    assert_eq!(ns_of(&store, b).await.len(), 2);
    assert_eq!(ns_of(&store, None).await, newest(None, 3));

    // Only the groups a batch touches are trimmed.
    store
        .append_requests(&[entry(b, CREATE, None, 12)], 1)
        .await
        .unwrap();
    assert_eq!(ns_of(&store, b).await, vec![12]);
    assert_eq!(ns_of(&store, a).await.len(), 3);
    assert_eq!(ns_of(&store, None).await.len(), 3);
    store
        .append_requests(&[entry(None, CREATE, None, 13)], 2)
        .await
        .unwrap();
    assert_eq!(ns_of(&store, None).await, vec![13, newest(None, 1)[0]]);
    assert_eq!(ns_of(&store, a).await.len(), 3);

    // A batch larger than the limit keeps its own newest.
    let big: Vec<JournalEntry> = (100..110)
        .map(|n| entry(a, RESULTS, Some(1000), n))
        .collect();
    store.append_requests(&big, 4).await.unwrap();
    assert_eq!(ns_of(&store, a).await, vec![109, 108, 107, 106]);
}
