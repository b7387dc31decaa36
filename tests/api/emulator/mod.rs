//! The emulator controls of issue #12 under `/_admin/v1`: lifecycles, scripted outcomes, the
//! per-account clock, reset and seed, and the isolation between accounts. These helpers speak
//! the control routes; each test file covers one control.

mod clock;
mod instant;
mod isolation;
mod lifecycle;
mod manual;
mod outcomes;
mod polls;
mod reset;
mod seed;
mod timed;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

pub const SINGLE: &str = "/api/open/v4/image2Video/createBySourcePrompt";
pub const BATCH: &str = "/api/open/v4/image2Video/createBySourcePrompt/batch";
pub const DAY_MS: i64 = 86_400_000;

/// The `data` of a control's answer, which must be HTTP 200 with code 1000.
pub fn data_of(path: &str, (status, body): (StatusCode, Value)) -> Value {
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(body["code"], 1000, "{path}: {body}");
    body["data"].clone()
}

/// The Akool code of a control's answer (HTTP 200 for every code but 401).
pub fn code_of(path: &str, (status, body): (StatusCode, Value)) -> i64 {
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: {body}"))
}

/// Sends each body to `path` (POST, or PUT when `put`) and checks every answer is 1003 with a
/// message; lists every body that was not refused so, rather than stopping at the first.
pub async fn assert_all_refused(app: &TestApp, path: &str, put: bool, bodies: &[Value]) {
    let mut wrong = Vec::new();
    for body in bodies {
        let (status, answer) = if put {
            app.admin_put(path, body.clone()).await
        } else {
            app.admin(path, body.clone()).await
        };
        let named = answer["msg"].as_str().is_some_and(|m| !m.is_empty());
        if status != StatusCode::OK || answer["code"] != 1003 || !named {
            let shown = body.to_string();
            wrong.push(format!(
                "{} -> {status} {answer}",
                &shown[..shown.len().min(120)]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{path}: not refused with 1003:\n{}",
        wrong.join("\n")
    );
}

impl TestApp {
    pub async fn lifecycle(&self, account: &Account) -> Value {
        let path = format!("/accounts/{}/lifecycle", account.uid);
        data_of(&path, self.admin_get(&path).await)
    }

    pub async fn set_lifecycle(&self, account: &Account, lifecycle: Value) -> Value {
        let path = format!("/accounts/{}/lifecycle", account.uid);
        data_of(&path, self.admin_put(&path, lifecycle).await)
    }

    pub async fn push_outcomes(&self, account: &Account, outcomes: Value) -> Value {
        let path = format!("/accounts/{}/outcomes", account.uid);
        data_of(
            &path,
            self.admin(&path, json!({ "outcomes": outcomes })).await,
        )
    }

    pub async fn outcomes(&self, account: &Account) -> Value {
        let path = format!("/accounts/{}/outcomes", account.uid);
        data_of(&path, self.admin_get(&path).await)["outcomes"].clone()
    }

    pub async fn clock(&self, account: &Account) -> Value {
        let path = format!("/accounts/{}/clock", account.uid);
        data_of(&path, self.admin_get(&path).await)
    }

    /// Moves one account's clock; `body` is `{"ms":N}` or `{"to_ms":T}`.
    pub async fn advance_clock(&self, account: &Account, body: Value) -> Value {
        let path = format!("/accounts/{}/clock/advance", account.uid);
        data_of(&path, self.admin(&path, body).await)
    }

    /// Moves the account's clock to `create_time + after_ms`.
    pub async fn clock_to(&self, account: &Account, create_time: i64, after_ms: i64) -> Value {
        self.advance_clock(account, json!({ "to_ms": create_time + after_ms }))
            .await
    }

    pub async fn advance_video(&self, id: &str) -> Value {
        let path = format!("/videos/{id}/advance");
        data_of(&path, self.admin(&path, json!({})).await)
    }

    pub async fn seed(&self, account: &Account, videos: Value) -> (StatusCode, Value) {
        self.admin(
            &format!("/accounts/{}/seed", account.uid),
            json!({ "videos": videos }),
        )
        .await
    }

    pub async fn reset(&self, account: &Account) -> Value {
        let path = format!("/accounts/{}/reset", account.uid);
        data_of(&path, self.admin(&path, json!({})).await)
    }

    /// Creates one video from `body`; returns the create answer's `data`.
    pub async fn create_from(&self, account: &Account, body: Value) -> Value {
        let created = self.post_as(&account.key, SINGLE, body).await;
        assert_eq!(created["code"], 1000, "{created}");
        created["data"].clone()
    }

    /// A batch of `count` default videos; returns the items in answer order.
    pub async fn create_batch(&self, account: &Account, count: usize) -> Vec<Value> {
        let mut body = video_body();
        body["count"] = json!(count);
        let created = self.post_as(&account.key, BATCH, body).await;
        assert_eq!(created["code"], 1000, "{created}");
        created["data"]["successList"].as_array().unwrap().clone()
    }

    /// The one record of `id`, read through resultsByIds (which counts as a poll).
    pub async fn record(&self, account: &Account, id: &str) -> Value {
        let answer = self.results(account, id).await;
        let items = answer["data"]["result"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{id}: {answer}");
        items[0].clone()
    }

    /// The records of many ids, asked for in calls of at most 100 ids.
    pub async fn records(&self, account: &Account, ids: &[String]) -> Vec<Value> {
        let mut all = Vec::new();
        for chunk in ids.chunks(100) {
            let answer = self.results(account, &chunk.join(",")).await;
            all.extend(answer["data"]["result"].as_array().unwrap().iter().cloned());
        }
        all
    }

    /// Deletes many ids in calls of at most 100; returns the ids deleted.
    pub async fn delete_all(&self, account: &Account, ids: &[String]) -> Vec<String> {
        let mut deleted = Vec::new();
        for chunk in ids.chunks(100) {
            let answer = self.delete(account, &chunk.join(",")).await;
            assert_eq!(answer["code"], 1000, "{answer}");
            deleted.extend(ids_of(&answer["data"]["successIds"]));
        }
        deleted
    }

    /// Fetches a video file and checks that it is an MP4 (an `ftyp` box first); returns it.
    pub async fn mp4_at(&self, url: &str) -> Vec<u8> {
        let resp = self.client.get(url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{url}");
        let bytes = resp.bytes().await.unwrap().to_vec();
        assert!(
            bytes.len() > 8 && &bytes[4..8] == b"ftyp",
            "{url} is not an MP4: {:?}",
            &bytes[..bytes.len().min(16)]
        );
        bytes
    }

    /// The files left once the deletion outbox has been drained: a delete may leave removal
    /// to the sweeper when storage is slow, which is still no file left behind.
    pub async fn files_left(&self) -> Vec<String> {
        i2v::outbox::sweep(self.app.store.as_ref(), &self.app.blobs)
            .await
            .unwrap();
        self.blob_keys().await
    }

    /// True when the file behind `url` is gone.
    pub async fn gone(&self, url: &str) -> bool {
        self.client.get(url).send().await.unwrap().status() == StatusCode::NOT_FOUND
    }
}

pub fn ids_in(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["_id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn statuses(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|v| v["status"].as_i64().unwrap())
        .collect()
}

pub fn url_of(record: &Value) -> String {
    record["video_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no video_url: {record}"))
        .to_owned()
}

/// A video body with the given resolution and length.
pub fn sized(resolution: &str, seconds: i64) -> Value {
    let mut body = video_body();
    body["resolution"] = json!(resolution);
    body["video_length"] = json!(seconds);
    body
}

/// Checks that `url` plays as H.264 of `width`x`height` (either orientation: no image is read
/// outside `render` mode) lasting `seconds`.
pub async fn assert_plays(app: &TestApp, url: &str, (width, height): (u64, u64), seconds: f64) {
    let bytes = app.mp4_at(url).await;
    let dir = tempfile::tempdir().unwrap();
    let p = probe_mp4(&bytes, dir.path());
    assert_eq!(p.codec, "h264", "{url}");
    let mut got = [p.width, p.height];
    got.sort();
    let mut want = [width, height];
    want.sort();
    assert_eq!(got, want, "{url}: {}x{}", p.width, p.height);
    assert!(
        (p.duration - seconds).abs() <= 0.2,
        "{url}: duration {} for {seconds}",
        p.duration
    );
}
