//! Store conformance suite: every backend of `i2v::store::Store` must pass these checks unchanged.
//!
//! Each check is a `pub async fn check_xxx(store: Arc<dyn Store>)` that gets a fresh, empty store
//! and knows nothing about the backend; `run_all` runs them all against stores from a factory.
//! The `sqlite` module at the bottom runs every check against a fresh SQLite file. A new backend
//! adds a module like it (or calls `run_all`) and nothing else.
//!
//! Times are epoch milliseconds chosen by the checks; nothing here reads the clock.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use i2v::domain::catalogue::Resolution;
use i2v::domain::video::{AudioType, ModelName, Video, VideoKind};
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{
    Account, Completion, DeleteOutcome, DeleteRequest, ForcedStatus, NewAccount, Store, StoreError,
};

/// An arbitrary fixed "now" (2025-08-01), epoch milliseconds.
const T0: i64 = 1_754_006_400_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// A uid no check ever creates.
const NO_UID: i64 = 999_999_999;

// --- helpers ---------------------------------------------------------------------------------

/// An account together with the credentials it was created with.
struct Acct {
    account: Account,
    client_id: String,
    secret_hash: String,
}

impl Acct {
    fn uid(&self) -> i64 {
        self.account.uid
    }
}

/// 24 hex digits nobody else has (the ObjectId generator never repeats within a process).
fn unique_hex() -> String {
    ObjectId::generate((T0 / 1000) as u64).to_hex()
}

async fn new_account(store: &Arc<dyn Store>, credits: i64) -> Acct {
    let client_id = unique_hex();
    let secret_hash = format!("{}{}{}", unique_hex(), unique_hex(), &unique_hex()[..16]);
    let account = store
        .create_account(NewAccount {
            name: "suite".into(),
            credits,
            team_id: unique_hex(),
            client_id: client_id.clone(),
            secret_hash: secret_hash.clone(),
            sealed_secret: format!("sealed:{secret_hash}"),
            created_at: T0,
        })
        .await
        .expect("create_account");
    Acct {
        account,
        client_id,
        secret_hash,
    }
}

/// A queued video of `owner` created at `create_time` costing `credit`, with every field set the
/// way `create_videos` stores a new video (so a read-back must equal it).
fn video(owner: &Acct, create_time: i64, credit: i64) -> Video {
    let id = ObjectId::generate((create_time / 1000) as u64);
    Video {
        id,
        uid: owner.uid(),
        team_id: owner.account.team_id.clone(),
        kind: VideoKind::Single,
        status: VideoStatus::Queued,
        model: ModelName::new("seedance-1.0-lite-i2v"),
        resolution: Resolution::P720,
        video_length: 5,
        image_url: "https://example.com/first.png".into(),
        last_image_url: None,
        prompt: format!("a cat, video {id}"),
        negative_prompt: "blurry".into(),
        extend_prompt: true,
        audio_type: AudioType::Generated,
        audio_url: String::new(),
        generate_audio: false,
        is_premium_model: false,
        effect: None,
        webhook_url: "https://example.com/hook".into(),
        file_name: format!("{id}.mp4"),
        batch_id: None,
        batch_count: None,
        pre_video_id: None,
        deduction_credit: credit,
        blob_key: None,
        video_duration: None,
        error_reason: None,
        attempts: 0,
        create_time,
        update_time: create_time,
    }
}

async fn balance(store: &Arc<dyn Store>, uid: i64) -> i64 {
    store
        .account(uid)
        .await
        .unwrap()
        .expect("account exists")
        .credits
}

/// Asserts that the account's ledger explains its balance, and returns the balance.
async fn assert_ledger_matches(store: &Arc<dyn Store>, uid: i64) -> i64 {
    let credits = balance(store, uid).await;
    assert_eq!(
        store.ledger_sum(uid).await.unwrap(),
        credits,
        "ledger of {uid} vs its balance"
    );
    credits
}

async fn one(store: &Arc<dyn Store>, uid: i64, id: ObjectId) -> Option<Video> {
    let mut found = store.videos_by_ids(uid, &[id]).await.unwrap();
    assert!(found.len() <= 1);
    found.pop()
}

async fn status_of(store: &Arc<dyn Store>, uid: i64, id: ObjectId) -> Option<VideoStatus> {
    one(store, uid, id).await.map(|v| v.status)
}

/// Claims the next video and asserts it is `expected`.
async fn claim_expect(
    store: &Arc<dyn Store>,
    owner: &str,
    now: i64,
    lease_until: i64,
    expected: ObjectId,
) -> Video {
    let claimed = store
        .claim_next(owner, now, lease_until)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("expected to claim {expected}, queue is empty"));
    assert_eq!(claimed.id, expected, "claim order");
    assert_eq!(claimed.status, VideoStatus::Processing);
    claimed
}

fn completion(id: ObjectId, owner: &str, blob_key: &str) -> Completion {
    Completion {
        id,
        owner: owner.into(),
        blob_key: blob_key.into(),
        video_duration: 5.04,
    }
}

/// Takes `expected` through the worker protocol (claim, stage, complete); returns its blob key.
async fn render(store: &Arc<dyn Store>, expected: ObjectId, now: i64) -> String {
    claim_expect(store, "suite-worker", now, now + MINUTE, expected).await;
    let key = format!("videos/{expected}/a1.mp4");
    store.stage_blob(&key, now + HOUR).await.unwrap();
    assert!(store
        .complete(completion(expected, "suite-worker", &key), now)
        .await
        .unwrap());
    key
}

/// The blob keys the outbox would remove at `now` (a generous limit).
async fn due_keys(store: &Arc<dyn Store>, now: i64) -> Vec<String> {
    let due = store.due_blob_deletions(now, 1000).await.unwrap();
    due.into_iter().map(|d| d.blob_key).collect()
}

// --- accounts --------------------------------------------------------------------------------

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

// --- videos ----------------------------------------------------------------------------------

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

/// Requests in one group are answered as if they had run one after another, in order.
pub async fn check_grouped_deletes(store: Arc<dyn Store>) {
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

    let request = |uid: i64, ids: &[ObjectId]| DeleteRequest {
        uid,
        ids: ids.to_vec(),
    };
    let group = [
        request(a.uid(), &[x.id, y.id]),
        request(a.uid(), &[y.id, z.id, c.id]),
        request(b.uid(), &[x.id, bx.id, z.id]),
        request(a.uid(), &[p.id]),
        request(a.uid(), &[]),
    ];
    let outcomes: Vec<DeleteOutcome> = store
        .delete_videos_grouped(&group, now)
        .await
        .into_iter()
        .map(|o| o.expect("grouped delete"))
        .collect();
    assert_eq!(outcomes.len(), group.len(), "one outcome per request");
    assert_eq!(outcomes[0].deleted, vec![x.id, y.id]);
    assert_eq!(
        outcomes[1].deleted,
        vec![z.id, c.id],
        "y went with the request before"
    );
    assert_eq!(outcomes[1].files.len(), 1);
    assert_eq!(outcomes[1].files[0].blob_key, c_key);
    assert_eq!(
        outcomes[2].deleted,
        vec![bx.id],
        "another account's ids are never deleted"
    );
    assert_eq!(outcomes[3].deleted, Vec::<ObjectId>::new());
    assert_eq!(outcomes[3].processing, vec![p.id]);
    assert_eq!(outcomes[4], DeleteOutcome::default());

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
    assert!(store.delete_videos_grouped(&[], now).await.is_empty());
}

// --- render queue ----------------------------------------------------------------------------

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

// --- operator control ------------------------------------------------------------------------

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

// --- file-deletion outbox --------------------------------------------------------------------

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

// --- concurrency -----------------------------------------------------------------------------

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

// --- running the suite -----------------------------------------------------------------------

/// Runs every check, each against a fresh store from `make`.
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

/// A webhook attempt that finishes after its video was deleted leaves no trace and no error.
pub async fn check_attempt_after_delete_leaves_no_trace(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    store
        .create_videos(a.uid(), vec![v.clone()], T0)
        .await
        .unwrap();
    claim_expect(&store, "w", T0, T0 + MINUTE, v.id).await;
    assert!(store.fail(v.id, "w", "broken", T0 + 1).await.unwrap());
    let sending = store.claim_webhooks(T0 + 2, T0 + MINUTE, 10).await.unwrap();
    assert_eq!(sending.len(), 1, "the status-2 callback comes first");
    let gone = store.delete_videos(a.uid(), &[v.id], T0 + 3).await.unwrap();
    assert_eq!(gone.deleted, vec![v.id]);
    store
        .finish_webhook_attempt(
            sending[0].id,
            i2v::store::WebhookAttempt {
                attempt: 1,
                at: T0 + 4,
                http_status: Some(200),
                error: None,
            },
            i2v::store::WebhookOutcome::Delivered,
        )
        .await
        .expect("finishing an attempt of a deleted video is not an error");
    let left = store
        .webhook_deliveries(Some(&v.id.to_hex()), 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "no delivery or attempt survives: {left:?}");
}

pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    check_accounts_and_auth(make().await).await;
    check_rotate_secret(make().await).await;
    check_adjust_credits(make().await).await;
    check_ledger_matches_balance(make().await).await;
    check_create_videos_charges_atomically(make().await).await;
    check_videos_by_ids_scoping_and_order(make().await).await;
    check_delete_videos(make().await).await;
    check_grouped_deletes(make().await).await;
    check_claim_oldest_first_skipping_deleted(make().await).await;
    check_complete_requires_lease(make().await).await;
    check_lost_lease_fences_the_worker(make().await).await;
    check_fail_refunds(make().await).await;
    check_heartbeat_extends_only_own_lease(make().await).await;
    check_reap_expired(make().await).await;
    check_held_video_is_never_claimed_nor_reaped(make().await).await;
    check_force_status(make().await).await;
    check_blob_outbox(make().await).await;
    check_concurrent_deletes_of_one_id(make().await).await;
    check_concurrent_claims(make().await).await;
    check_release_and_expire_outputs(make().await).await;
    check_retry_later(make().await).await;
    check_deletes_racing_claims(make().await).await;
    check_attempt_after_delete_leaves_no_trace(make().await).await;
}

/// Calls `$per_backend!` with every check's name: the one list each backend module runs.
macro_rules! for_each_check {
    ($per_backend:ident) => {
        $per_backend!(
            check_accounts_and_auth,
            check_rotate_secret,
            check_adjust_credits,
            check_ledger_matches_balance,
            check_create_videos_charges_atomically,
            check_videos_by_ids_scoping_and_order,
            check_delete_videos,
            check_grouped_deletes,
            check_claim_oldest_first_skipping_deleted,
            check_complete_requires_lease,
            check_lost_lease_fences_the_worker,
            check_fail_refunds,
            check_heartbeat_extends_only_own_lease,
            check_reap_expired,
            check_held_video_is_never_claimed_nor_reaped,
            check_force_status,
            check_blob_outbox,
            check_release_and_expire_outputs,
            check_retry_later,
            check_concurrent_deletes_of_one_id,
            check_concurrent_claims,
            check_deletes_racing_claims,
            check_attempt_after_delete_leaves_no_trace,
        );
    };
}

/// Every check against a fresh SQLite file.
mod sqlite {
    use std::sync::{Arc, Mutex};

    use i2v::store::{PoolSettings, SqliteStore, Store};
    use tempfile::TempDir;

    async fn fresh() -> (TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::open(&url, &PoolSettings::default())
            .await
            .expect("open sqlite store");
        (dir, Arc::new(store))
    }

    macro_rules! sqlite_checks {
        ($($check:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let (_dir, store) = fresh().await;
                super::$check(store).await;
            }
        )*};
    }

    for_each_check!(sqlite_checks);

    /// `run_all` itself, as a future backend would call it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn run_all_against_sqlite() {
        let dirs = Arc::new(Mutex::new(Vec::new()));
        let keep = dirs.clone();
        super::run_all(move || {
            let keep = keep.clone();
            async move {
                let (dir, store) = fresh().await;
                keep.lock().unwrap().push(dir);
                store
            }
        })
        .await;
        assert_eq!(dirs.lock().unwrap().len(), 23, "one fresh store per check");
    }
}

/// Every check against a fresh PostgreSQL database (the throwaway cluster `scripts/test` starts).
mod postgres {
    use std::sync::Arc;

    use i2v::store::{PgStore, PoolSettings, Store};

    async fn fresh() -> Arc<dyn Store> {
        let url = crate::backends::fresh_postgres_database().await;
        Arc::new(
            PgStore::open(&url, &PoolSettings::default())
                .await
                .expect("open postgres store"),
        )
    }

    macro_rules! postgres_checks {
        ($($check:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            #[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
            async fn $check() {
                crate::backends::require_services();
                super::$check(fresh().await).await;
            }
        )*};
    }

    for_each_check!(postgres_checks);
}
