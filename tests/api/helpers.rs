//! `spawn_app()` and `TestApp`: a real server on a random loopback port, a fresh store, one
//! method per route, and `drain_jobs()` to finish queued videos on demand.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use i2v::blobs::Blobs;
use i2v::clock::now_ms;
use i2v::store::Completion;
use i2v::{App, Config};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct TestApp {
    pub base: String,
    /// The database and file storage this app uses; a restart keeps them.
    pub backend: Backend,
    pub app: App,
    pub client: reqwest::Client,
    pub dir: Arc<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub uid: i64,
    pub team_id: String,
    pub client_id: String,
    pub key: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let backend = Backend::from_env().await;
    start(dir, backend, tweak).await
}

/// Where a test app keeps its state. The whole HTTP suite runs on the embedded default (SQLite
/// and files in the data dir) and, with `I2V_TEST_BACKEND=postgres` (scripts/test's second
/// pass), on a fresh PostgreSQL database and S3 bucket per app.
#[derive(Clone, Debug, Default)]
pub struct Backend {
    pub database_url: Option<String>,
    pub blob_url: Option<String>,
}

impl Backend {
    async fn from_env() -> Backend {
        match std::env::var("I2V_TEST_BACKEND").as_deref() {
            Ok("postgres") => {
                // I2V_TEST_BACKEND=postgres needs the test servers; fail saying how to start them.
                crate::backends::require_services();
                Backend {
                    database_url: Some(crate::backends::fresh_postgres_database().await),
                    blob_url: Some(format!(
                        "s3://{}/i2v",
                        crate::backends::fresh_s3_bucket().await
                    )),
                }
            }
            Ok("sqlite") | Err(_) => Backend::default(),
            Ok(other) => panic!("I2V_TEST_BACKEND={other:?}: expected sqlite or postgres"),
        }
    }
}

async fn start(
    dir: Arc<tempfile::TempDir>,
    backend: Backend,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config {
        listen: addr,
        data_dir: PathBuf::from(dir.path()),
        admin_token: Some(ADMIN_TOKEN.into()),
        workers: Some(0),
        allow_private_urls: true,
        public_url: Some(format!("http://{addr}")),
        database_url: backend.database_url.as_deref().map(Into::into),
        blob_url: backend.blob_url.as_deref().map(Into::into),
        ..Config::default()
    };
    tweak(&mut config);
    let app = App::build(config).await.expect("app builds");
    let (tx, rx) = oneshot::channel::<()>();
    let served = app.clone();
    let server = tokio::spawn(async move {
        i2v::serve(served, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    TestApp {
        base: format!("http://{addr}"),
        backend,
        app,
        client: reqwest::Client::new(),
        dir,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops the server gracefully and starts a new one on the same data dir.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let dir = self.dir.clone();
        let backend = self.backend.clone();
        drop(self);
        start(dir, backend, |_| {}).await
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task ends cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs raw bytes with the given headers; returns status and the body parsed as JSON.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let json =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, json)
    }

    pub async fn post_as(&self, key: &str, path: &str, body: Value) -> Value {
        let (status, json) = self
            .post_raw(
                path,
                &[("x-api-key", key), ("content-type", "application/json")],
                body.to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {json}");
        json
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Value {
        let resp = self
            .client
            .get(self.url(path))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.json().await.unwrap()
    }

    pub async fn admin(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.post_raw(
            &format!("/_admin/v1{path}"),
            &[("authorization", &auth)],
            body.to_string(),
        )
        .await
    }

    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(self.url(&format!("/_admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    pub async fn admin_put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .put(self.url(&format!("/_admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    pub async fn admin_delete(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .delete(self.url(&format!("/_admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    pub async fn create_account(&self, credits: i64) -> Account {
        let (status, body) = self
            .admin("/accounts", json!({"name": "tester", "credits": credits}))
            .await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::OK, Some(1000)),
            "{body}"
        );
        let d = &body["data"];
        Account {
            uid: d["uid"].as_i64().unwrap(),
            team_id: d["team_id"].as_str().unwrap().into(),
            client_id: d["clientId"].as_str().unwrap().into(),
            key: d["clientSecret"].as_str().unwrap().into(),
        }
    }

    pub async fn create_video(&self, account: &Account) -> String {
        let body = self
            .post_as(
                &account.key,
                "/api/open/v4/image2Video/createBySourcePrompt",
                video_body(),
            )
            .await;
        assert_eq!(body["code"], 1000, "{body}");
        body["data"]["_id"].as_str().unwrap().to_owned()
    }

    pub async fn create_videos(&self, account: &Account, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(self.create_video(account).await);
        }
        ids
    }

    pub async fn delete(&self, account: &Account, ids: &str) -> Value {
        self.post_as(
            &account.key,
            "/api/open/v4/image2Video/delbyids",
            json!({ "_ids": ids }),
        )
        .await
    }

    pub async fn results(&self, account: &Account, ids: &str) -> Value {
        self.post_as(
            &account.key,
            "/api/open/v4/image2Video/resultsByIds",
            json!({ "_ids": ids }),
        )
        .await
    }

    pub async fn status_of(&self, account: &Account, id: &str) -> Option<i64> {
        let body = self.results(account, id).await;
        body["data"]["result"]
            .get(0)
            .map(|v| v["status"].as_i64().unwrap())
    }

    pub async fn set_status(&self, id: &str, status: i64) -> Value {
        let (code, body) = self
            .admin(&format!("/videos/{id}/status"), json!({ "status": status }))
            .await;
        assert_eq!(code, StatusCode::OK);
        body
    }

    /// Finishes every queued video the way a worker does (claim, stage, upload, complete), with
    /// a small stand-in file; returns the blob keys written.
    pub async fn drain_jobs(&self) -> Vec<String> {
        let store = &self.app.store;
        let mut keys = Vec::new();
        let owner = "test-worker";
        while let Some(video) = store
            .claim_next(owner, now_ms(), now_ms() + 60_000)
            .await
            .unwrap()
        {
            let key = Blobs::key_for(&video.id.to_hex(), &format!("a{}", video.attempts));
            store.stage_blob(&key, now_ms() + 3_600_000).await.unwrap();
            self.app
                .blobs
                .put(&key, Bytes::from_static(b"\0\0\0\x18ftypmp42 test"))
                .await
                .unwrap();
            let done = Completion {
                id: video.id,
                owner: owner.into(),
                blob_key: key.clone(),
                video_duration: 5.0,
            };
            assert!(store.complete(done, now_ms()).await.unwrap());
            keys.push(key);
        }
        keys
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// True when no file is waiting in the deletion outbox, whatever its due time.
    pub async fn outbox_is_empty(&self) -> bool {
        self.app
            .store
            .due_blob_deletions(i64::MAX, 1)
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn blob_keys(&self) -> Vec<String> {
        self.app.blobs.list_keys().await.unwrap()
    }

    /// The video files in storage, leaving out their posters (`Blobs::poster_key`).
    pub async fn video_file_keys(&self) -> Vec<String> {
        let mut keys = self.blob_keys().await;
        keys.retain(|k| k.ends_with(".mp4"));
        keys
    }

    /// Every file in storage is a video file or the poster of one that is there.
    pub async fn assert_posters_have_videos(&self) {
        let keys = self.blob_keys().await;
        for key in keys.iter().filter(|k| !k.ends_with(".mp4")) {
            assert!(
                keys.iter()
                    .any(|v| i2v::blobs::Blobs::poster_key(v).as_deref() == Some(key.as_str())),
                "file {key} is no video's poster: {keys:?}"
            );
        }
    }

    pub async fn balance(&self, account: &Account) -> i64 {
        let body = self
            .get_as(&account.key, "/api/open/v3/faceswap/quota/info")
            .await;
        body["data"]["credit"].as_i64().unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A valid single-create body (720p, 5 s, no audio: 20 credits).
pub fn video_body() -> Value {
    json!({
        "image_url": "https://example.com/in/beach.png",
        "prompt": "Waves crash along shore while the camera drifts.",
        "negative_prompt": "",
        "resolution": "720p",
        "audio_type": 3,
        "video_length": 5
    })
}

pub fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// `noPermissionItems` as (id, msg) pairs.
pub fn refusals(body: &Value) -> Vec<(String, String)> {
    body["data"]["noPermissionItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["_id"].as_str().unwrap().to_owned(),
                i["msg"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub const NOT_FOUND: &str = "video resource not found";
pub const PROCESSING: &str = "video resource is processing, please try again later";

/// ffmpeg must be installed (scripts/test installs it); say so plainly when it is not.
pub fn require_ffmpeg() {
    let ok = std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "ffmpeg/ffprobe are required for render tests: run scripts/test, or apt-get install ffmpeg"
    );
}

/// What ffprobe says of an MP4: its video stream and whether it has sound.
#[derive(Debug)]
pub struct Probe {
    pub codec: String,
    pub pix_fmt: String,
    pub width: u64,
    pub height: u64,
    pub duration: f64,
    pub has_audio: bool,
}

/// ffprobe of an MP4's bytes (written into `dir`).
pub fn probe_mp4(bytes: &[u8], dir: &std::path::Path) -> Probe {
    require_ffmpeg();
    let file = dir.join(format!("probe-{:016x}.mp4", rand::random::<u64>()));
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let streams = info["streams"].as_array().unwrap();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("a video stream");
    Probe {
        codec: video["codec_name"].as_str().unwrap().into(),
        pix_fmt: video["pix_fmt"].as_str().unwrap_or_default().into(),
        width: video["width"].as_u64().unwrap(),
        height: video["height"].as_u64().unwrap(),
        duration: info["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        has_audio: streams.iter().any(|s| s["codec_type"] == "audio"),
    }
}
