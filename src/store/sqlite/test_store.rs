//! A SQLite store with an account and videos, for this backend's unit tests.

use std::path::Path;

use crate::domain::catalogue::Catalogue;
use crate::domain::spec::parse_batch;
use crate::domain::video::Order;
use crate::domain::{Video, VideoKind};
use crate::store::{Accounts, NewAccount, PoolSettings, SqliteStore, Videos};

/// A store in `dir` with one account (1,000 credits) and three of its queued videos, as
/// stored.
pub async fn store_with_videos(dir: &Path) -> (SqliteStore, i64, Vec<Video>) {
    let url = format!("sqlite://{}", dir.join("i2v.db").display());
    let store = SqliteStore::open(&url, &PoolSettings::default())
        .await
        .unwrap();
    let account = store
        .create_account(NewAccount {
            name: "readers".into(),
            credits: 1000,
            team_id: "team".into(),
            client_id: "client".into(),
            secret_hash: "hash".into(),
            sealed_secret: "sealed".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    let videos = queued_videos(account.uid, 3, 1_754_006_400_000);
    store
        .create_videos(account.uid, videos.clone(), 1_754_006_400_000)
        .await
        .unwrap();
    let stored = store
        .videos_by_ids(
            account.uid,
            &videos.iter().map(|v| v.id).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    (store, account.uid, stored)
}

/// `n` new videos of account `uid`, as a batch create made at `at` orders them (each costs
/// `deduction_credit`, the same for all).
pub fn queued_videos(uid: i64, n: i64, at: i64) -> Vec<Video> {
    let body = serde_json::json!({
        "image_url": "https://example.com/a.png",
        "resolution": "720p",
        "video_length": 5,
        "model_name": "I2VMotionV1",
        "last_image_url": "https://example.com/b.png",
        "prompt": "a slow pan",
    });
    let (spec, _) = parse_batch(&body, Catalogue::builtin()).unwrap();
    let order = Order {
        uid,
        team_id: "team",
        kind: VideoKind::Batch,
        at,
    };
    Video::ordered(&spec, order, n)
}
