//! Many processes on one PostgreSQL database and one S3 bucket (issue #5): two `i2v serve` and
//! one `i2v worker`, all real binaries on loopback. A video made on one server is visible and
//! deletable on the other; deletes racing the worker's claims keep DESIGN §4; a worker killed with
//! SIGKILL mid-render loses no job; and once the sweepers have run, no object is left behind.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::ObjectStore;
use serde_json::{json, Value};

use crate::assets::spawn_assets;
use crate::backends::{fresh_postgres_database, fresh_s3_bucket, require_services};
use crate::helpers::ADMIN_TOKEN;

const BIN: &str = env!("CARGO_BIN_EXE_i2v");

/// Short leases and sweeps so that recovery happens within seconds.
const CONFIG: &str = r#"
[jobs]
lease_ms = 2000
heartbeat_ms = 400
poll_ms = 100
reap_interval_ms = 300
stage_grace_ms = 4000
retry_base_ms = 200
[sweeper]
interval_secs = 1
"#;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Cluster {
    dir: tempfile::TempDir,
    common: Vec<String>,
}

impl Cluster {
    /// Processes sharing `database` and `blob_url`, with one fresh master key, the admin token,
    /// and `extra` flags; their data dirs and logs under `dir`.
    fn new(dir: tempfile::TempDir, database: &str, blob_url: &str, extra: &[&str]) -> Cluster {
        let master_key = format!(
            "{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        );
        let mut common: Vec<String> = [
            "--database-url",
            database,
            "--blob-url",
            blob_url,
            "--master-key",
            &master_key,
            "--admin-token",
            ADMIN_TOKEN,
        ]
        .map(String::from)
        .to_vec();
        common.extend(extra.iter().map(|s| s.to_string()));
        Cluster { dir, common }
    }

    fn spawn(&self, verb: &str, name: &str, extra: &[&str]) -> Proc {
        let data = self.dir.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = Command::new(BIN)
            .arg(verb)
            .args(&self.common)
            .args(["--data-dir", data.to_str().unwrap()])
            .args(extra)
            .env("RUST_LOG", "i2v=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("i2v starts");
        Proc(child)
    }

    /// A serve process on a free loopback port; returns it with its base URL once it is ready.
    async fn serve(&self, name: &str) -> (Proc, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let listen = format!("127.0.0.1:{port}");
        let proc = self.serve_at(name, &listen, &base);
        wait_until(Duration::from_secs(60), name, || async {
            reqwest::get(format!("{base}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        (proc, base)
    }

    fn serve_at(&self, name: &str, listen: &str, base: &str) -> Proc {
        self.spawn(
            "serve",
            name,
            &["--listen", listen, "--public-url", base, "--workers", "0"],
        )
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

async fn wait_until<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A new account through the admin API of `base`: its uid and API key.
async fn create_account(base: &str, name: &str, credits: i64) -> (i64, String) {
    let created = admin_json(
        reqwest::Client::new()
            .post(format!("{base}/_admin/v1/accounts"))
            .json(&json!({"name": name, "credits": credits})),
    )
    .await;
    let data = &created["data"];
    (
        data["uid"].as_i64().unwrap(),
        data["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// The JSON answer of an admin API call.
async fn admin_json(request: reqwest::RequestBuilder) -> Value {
    request
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The account's request journal as the admin API of `base` reads it.
async fn journal_of(base: &str, uid: i64) -> Vec<Value> {
    let url = format!("{base}/_admin/v1/requests?uid={uid}&limit=1000");
    let body = admin_json(reqwest::Client::new().get(url)).await;
    body["data"]["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

async fn post(base: &str, key: &str, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}");
    resp.json().await.unwrap()
}

async fn create(base: &str, key: &str, image: &str, length: i64) -> String {
    let body = post(
        base,
        key,
        "/api/open/v4/image2Video/createBySourcePrompt",
        json!({"image_url": image, "prompt": "slow zoom in", "resolution": "720p",
               "audio_type": 3, "video_length": length}),
    )
    .await;
    assert_eq!(body["code"], 1000, "{body}");
    body["data"]["_id"].as_str().unwrap().to_owned()
}

async fn result(base: &str, key: &str, id: &str) -> Option<Value> {
    let body = post(
        base,
        key,
        "/api/open/v4/image2Video/resultsByIds",
        json!({ "_ids": id }),
    )
    .await;
    body["data"]["result"].get(0).cloned()
}

async fn status(base: &str, key: &str, id: &str) -> Option<i64> {
    result(base, key, id)
        .await
        .map(|v| v["status"].as_i64().unwrap())
}

async fn delete(base: &str, key: &str, ids: &[String]) -> Value {
    post(
        base,
        key,
        "/api/open/v4/image2Video/delbyids",
        json!({ "_ids": ids.join(",") }),
    )
    .await
}

fn success_ids(body: &Value) -> Vec<String> {
    body["data"]["successIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn two_servers_and_a_worker_share_postgres_and_s3() {
    require_services();
    let database = fresh_postgres_database().await;
    let bucket = fresh_s3_bucket().await;
    let assets = spawn_assets().await;
    let image = assets.url("/landscape.png");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("i2v.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let cluster = Cluster::new(
        dir,
        &database,
        &format!("s3://{bucket}/cluster"),
        &["--config", config.to_str().unwrap(), "--allow-private-urls"],
    );
    let (_a, a) = cluster.serve("serve-a").await;
    let (_b, b) = cluster.serve("serve-b").await;
    let mut worker = cluster.spawn("worker", "worker-1", &["--workers", "2"]);

    let (_, key) = create_account(&a, "cluster", 100_000).await;

    // Made on A, rendered by the worker, visible and downloadable through B.
    let first = create(&a, &key, &image, 5).await;
    wait_until(Duration::from_secs(120), "the first render", || async {
        status(&b, &key, &first).await == Some(3)
    })
    .await;
    let video = result(&b, &key, &first).await.unwrap();
    let url = video["video_url"].as_str().unwrap().replace(&a, &b);
    let file = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&file[4..8], b"ftyp", "an MP4 through the other server");

    // Deleted on B: gone on A at once.
    assert_eq!(
        success_ids(&delete(&b, &key, std::slice::from_ref(&first)).await),
        vec![first.clone()]
    );
    assert_eq!(result(&a, &key, &first).await, None);

    // Deletes on B racing the worker's claims of videos made on A.
    let racing: Vec<String> = {
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(create(&a, &key, &image, 5).await);
        }
        ids
    };
    let mut deleted: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while deleted.len() < racing.len() {
        assert!(
            Instant::now() < deadline,
            "racing videos not all deleted: {deleted:?}"
        );
        let left: Vec<String> = racing
            .iter()
            .filter(|id| !deleted.contains(id))
            .cloned()
            .collect();
        let body = delete(&b, &key, &left).await;
        for refusal in body["data"]["noPermissionItems"].as_array().unwrap() {
            let msg = refusal["msg"].as_str().unwrap();
            assert!(
                msg.contains("processing"),
                "a racing video is refused only while processing: {body}"
            );
        }
        let now_deleted = success_ids(&body);
        // Polls on the other server never see a video once its delete has been answered.
        for id in &now_deleted {
            assert_eq!(
                result(&a, &key, id).await,
                None,
                "{id} read after its delete"
            );
        }
        deleted.extend(now_deleted);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &racing {
        assert_eq!(result(&a, &key, id).await, None, "{id} stays deleted");
    }

    // A worker killed mid-render: the lease runs out, the job is rendered by the next worker.
    let long = create(&a, &key, &image, 10).await;
    wait_until(
        Duration::from_secs(60),
        "the long render to start",
        || async { status(&b, &key, &long).await == Some(2) },
    )
    .await;
    worker.0.kill().unwrap();
    worker.0.wait().unwrap();
    let _worker2 = cluster.spawn("worker", "worker-2", &["--workers", "1"]);
    wait_until(
        Duration::from_secs(180),
        "the killed worker's job to finish",
        || async { status(&a, &key, &long).await == Some(3) },
    )
    .await;
    let attempts = result(&a, &key, &long).await.unwrap();
    assert_eq!(attempts["status"], 3, "{attempts}");
    assert!(
        cluster.log("worker-2").contains("render complete"),
        "the second worker rendered it"
    );

    // No orphan: once the long video is deleted and the sweepers ran, the bucket is empty.
    assert_eq!(
        success_ids(&delete(&b, &key, std::slice::from_ref(&long)).await),
        vec![long]
    );
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(&bucket)
        .with_allow_http(true)
        .build()
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "the bucket to be empty",
        || async {
            let left: Vec<_> = s3.list(None).try_collect().await.unwrap();
            left.is_empty()
        },
    )
    .await;
}

/// The request journal is the database's, not a process's (issue #13): two servers on one
/// PostgreSQL database journal into one table, and either one's admin API reads every request
/// sent to both, once each, in one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn two_servers_share_one_request_journal() {
    require_services();
    let database = fresh_postgres_database().await;
    let bucket = fresh_s3_bucket().await;
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::new(dir, &database, &format!("s3://{bucket}/journal"), &[]);
    let (_a, a) = cluster.serve("serve-a").await;
    let (_b, b) = cluster.serve("serve-b").await;
    let (uid, key) = create_account(&a, "journal", 0).await;

    // Alternating servers, each request told apart by the id it asks for.
    let sent: Vec<String> = (0..40u32).map(|n| format!("{n:024x}")).collect();
    for (n, id) in sent.iter().enumerate() {
        let base = if n % 2 == 0 { &a } else { &b };
        let answer = post(
            base,
            &key,
            "/api/open/v4/image2Video/resultsByIds",
            json!({ "_ids": id }),
        )
        .await;
        assert_eq!(answer["code"], 1000, "{answer}");
    }

    // Each server writes its own entries within 100 ms; reading writes the reader's at once.
    wait_until(Duration::from_secs(20), "both servers' entries", || async {
        journal_of(&a, uid).await.len() == 40 && journal_of(&b, uid).await.len() == 40
    })
    .await;
    let (from_a, from_b) = (journal_of(&a, uid).await, journal_of(&b, uid).await);
    assert_eq!(from_a, from_b, "one journal, whichever server is asked");
    let ids: Vec<i64> = from_a.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let mut asked: Vec<String> = from_a
        .iter()
        .map(|e| e["request_body"]["_ids"].as_str().unwrap().to_owned())
        .collect();
    asked.sort();
    assert_eq!(asked, sent, "every request once, from both servers");
    assert!(
        from_a.iter().all(|e| !e.to_string().contains(&key)),
        "no key in the journal"
    );
}
