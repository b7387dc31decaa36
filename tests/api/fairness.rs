//! One account must not slow another beyond its fair share: stalled image hosts hold no render
//! slot, a backlog or retries do not queue ahead of another account's first video, and a
//! webhook receiver that never answers only delays its own callbacks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::assets::{spawn_assets, Assets};
use crate::helpers::*;

const CREATE: &str = "/api/open/v4/image2Video/createBySourcePrompt";

fn body(image_url: &str, seconds: i64) -> Value {
    json!({
        "image_url": image_url, "prompt": "slow zoom in on the grid", "negative_prompt": "",
        "resolution": "720p", "audio_type": 3, "audio_url": "", "video_length": seconds
    })
}

async fn create(app: &TestApp, me: &Account, body: Value) -> String {
    let created = app.post_as(&me.key, CREATE, body).await;
    assert_eq!(created["code"], 1000, "{created}");
    created["data"]["_id"].as_str().unwrap().to_owned()
}

/// A host that accepts connections and never answers; counts connections it holds open.
struct SilentHost {
    url: String,
    open: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

async fn silent_host() -> SilentHost {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (o, m) = (open.clone(), most.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (o, m) = (o.clone(), m.clone());
            tokio::spawn(async move {
                let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                // Read (and ignore) whatever comes until the client gives up.
                let mut buf = [0u8; 1024];
                loop {
                    use tokio::io::AsyncReadExt;
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                o.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    SilentHost {
        url,
        open,
        most,
        _task: task,
    }
}

/// Waits (bounded) until `check` holds for the records of `ids`.
async fn wait_until(
    app: &TestApp,
    me: &Account,
    ids: &[String],
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answer = app.results(me, &ids.join(",")).await;
        let items = answer["data"]["result"].as_array().unwrap().clone();
        if check(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "{what}: {items:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn statuses(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|v| v["status"].as_i64().unwrap())
        .collect()
}

async fn one_worker(assets: &Assets) -> TestApp {
    let _ = assets;
    spawn_with(|c| {
        c.workers = Some(1);
        c.render.preset = "ultrafast".into();
        c.jobs.poll = Duration::from_millis(50);
        // Long outbound limits: what is tested is that a stalled fetch holds no render slot,
        // not that it times out.
        c.outbound.timeout = Duration::from_secs(600);
        c.outbound.first_byte_timeout = Duration::from_secs(600);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_image_hosts_of_one_account_do_not_hold_the_only_render_slot() {
    require_ffmpeg();
    let assets = spawn_assets().await;
    let silent = silent_host().await;
    let app = one_worker(&assets).await;
    let slow = app.create_account(1000).await;
    let other = app.create_account(1000).await;

    let stalled = [
        create(&app, &slow, body(&format!("{}/a.png", silent.url), 5)).await,
        create(&app, &slow, body(&format!("{}/b.png", silent.url), 5)).await,
    ];
    // Both stalled fetches are under way before the other account's video arrives.
    let deadline = Instant::now() + Duration::from_secs(30);
    while silent.open.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the stalled fetches never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mine = vec![create(&app, &other, body(&assets.url("/landscape.png"), 5)).await];
    let done = wait_until(&app, &other, &mine, "the other account's video", |items| {
        items[0]["status"] == 3
    })
    .await;
    assert_eq!(done[0]["status"], 3);
    let still = app.results(&slow, &stalled.join(",")).await;
    let items = still["data"]["result"].as_array().unwrap();
    assert_eq!(
        statuses(items),
        vec![2, 2],
        "the stalled videos are still fetching"
    );
    assert_eq!(silent.most.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_backlog_delays_a_first_video_by_at_most_one_render() {
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = one_worker(&assets).await;
    let busy = app.create_account(10_000).await;
    let newcomer = app.create_account(1000).await;

    let mut backlog = Vec::new();
    for _ in 0..4 {
        backlog.push(create(&app, &busy, body(&assets.url("/landscape.png"), 10)).await);
    }
    // The backlog's first video is being worked on before the newcomer's arrives.
    wait_until(
        &app,
        &busy,
        &backlog,
        "a backlog video is claimed",
        |items| items.iter().any(|v| v["status"] != 1),
    )
    .await;
    let first = vec![create(&app, &newcomer, body(&assets.url("/landscape.png"), 5)).await];
    wait_until(&app, &newcomer, &first, "the newcomer's video", |items| {
        items[0]["status"] == 3
    })
    .await;
    let answer = app.results(&busy, &backlog.join(",")).await;
    let done = statuses(answer["data"]["result"].as_array().unwrap())
        .into_iter()
        .filter(|s| *s == 3)
        .count();
    assert!(
        done <= 1,
        "the newcomer waited for {done} of the backlog's renders"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_account_limit_keeps_the_rest_of_a_backlog_queued() {
    require_ffmpeg();
    let silent = silent_host().await;
    let app = spawn_with(|c| {
        c.workers = Some(1);
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.max_in_flight_per_account = 3;
        c.outbound.timeout = Duration::from_secs(600);
        c.outbound.first_byte_timeout = Duration::from_secs(600);
    })
    .await;
    let me = app.create_account(10_000).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(create(&app, &me, body(&format!("{}/{n}.png", silent.url), 5)).await);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while silent.open.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "the fetches never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give the claimers a few more polls to take more than they may.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = app.results(&me, &ids.join(",")).await;
    let mut seen = statuses(answer["data"]["result"].as_array().unwrap());
    seen.sort();
    assert_eq!(seen, vec![1, 1, 1, 2, 2, 2]);
    assert_eq!(silent.most.load(Ordering::SeqCst), 3);
}

/// A receiver that answers 200 and counts what it got.
async fn counting_receiver() -> (String, Arc<AtomicUsize>) {
    use axum::routing::post;
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_only_delays_its_own_callbacks() {
    let silent = silent_host().await;
    let (good_url, good_hits) = counting_receiver().await;
    let app = spawn_with(|c| {
        c.webhooks.poll = Duration::from_millis(50);
        c.webhooks.timeout = Duration::from_secs(600);
        c.webhooks.max_per_host = 2;
        c.outbound.timeout = Duration::from_secs(600);
        c.outbound.first_byte_timeout = Duration::from_secs(600);
    })
    .await;
    let hanging = app.create_account(10_000).await;
    let waiting = app.create_account(1000).await;
    let mut with_hook = video_body();
    for n in 0..10 {
        with_hook["webhookurl"] = json!(format!("{}/hook/{n}", silent.url));
        let created = app.post_as(&hanging.key, CREATE, with_hook.clone()).await;
        assert_eq!(created["code"], 1000, "{created}");
    }
    // The hanging receiver's callbacks are under way first.
    app.drain_jobs().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while silent.open.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the hanging callbacks never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    with_hook["webhookurl"] = json!(good_url);
    let created = app.post_as(&waiting.key, CREATE, with_hook).await;
    assert_eq!(created["code"], 1000, "{created}");
    app.drain_jobs().await;
    // Processing (2) and completed (3) both reach the answering receiver.
    let deadline = Instant::now() + Duration::from_secs(60);
    while good_hits.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the other account's callbacks waited behind the hanging receiver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        silent.most.load(Ordering::SeqCst),
        2,
        "at most webhooks.max_per_host attempts at once to one receiver"
    );
}
