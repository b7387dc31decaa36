//! What the checks share: fixed times, accounts, videos as `create_videos` stores them, and the
//! worker protocol.

use std::sync::Arc;

use i2v::domain::catalogue::Resolution;
use i2v::domain::video::{AudioType, ModelName, Video, VideoKind};
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{Account, Completion, NewAccount, Store};

/// An arbitrary fixed "now" (2025-08-01), epoch milliseconds.
pub(super) const T0: i64 = 1_754_006_400_000;
pub(super) const MINUTE: i64 = 60_000;
pub(super) const HOUR: i64 = 60 * MINUTE;

/// A uid no check ever creates.
pub(super) const NO_UID: i64 = 999_999_999;

/// An account together with the credentials it was created with.
pub(super) struct Acct {
    pub(super) account: Account,
    pub(super) client_id: String,
    pub(super) secret_hash: String,
}

impl Acct {
    pub(super) fn uid(&self) -> i64 {
        self.account.uid
    }
}

/// 24 hex digits nobody else has (the ObjectId generator never repeats within a process).
pub(super) fn unique_hex() -> String {
    ObjectId::generate((T0 / 1000) as u64).to_hex()
}

pub(super) async fn new_account(store: &Arc<dyn Store>, credits: i64) -> Acct {
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
pub(super) fn video(owner: &Acct, create_time: i64, credit: i64) -> Video {
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

pub(super) async fn balance(store: &Arc<dyn Store>, uid: i64) -> i64 {
    store
        .account(uid)
        .await
        .unwrap()
        .expect("account exists")
        .credits
}

/// Asserts that the account's ledger explains its balance, and returns the balance.
pub(super) async fn assert_ledger_matches(store: &Arc<dyn Store>, uid: i64) -> i64 {
    let credits = balance(store, uid).await;
    assert_eq!(
        store.ledger_sum(uid).await.unwrap(),
        credits,
        "ledger of {uid} vs its balance"
    );
    credits
}

pub(super) async fn one(store: &Arc<dyn Store>, uid: i64, id: ObjectId) -> Option<Video> {
    let mut found = store.videos_by_ids(uid, &[id]).await.unwrap();
    assert!(found.len() <= 1);
    found.pop()
}

pub(super) async fn status_of(
    store: &Arc<dyn Store>,
    uid: i64,
    id: ObjectId,
) -> Option<VideoStatus> {
    one(store, uid, id).await.map(|v| v.status)
}

/// Claims the next video and asserts it is `expected`.
pub(super) async fn claim_expect(
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

pub(super) fn completion(id: ObjectId, owner: &str, blob_key: &str) -> Completion {
    Completion {
        id,
        owner: owner.into(),
        blob_key: blob_key.into(),
        video_duration: 5.04,
    }
}

/// Takes `expected` through the worker protocol (claim, stage, complete); returns its blob key.
pub(super) async fn render(store: &Arc<dyn Store>, expected: ObjectId, now: i64) -> String {
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
pub(super) async fn due_keys(store: &Arc<dyn Store>, now: i64) -> Vec<String> {
    let due = store.due_blob_deletions(now, 1000).await.unwrap();
    due.into_iter().map(|d| d.blob_key).collect()
}
