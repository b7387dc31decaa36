//! Webhooks against a real local receiver that checks the signature and decrypts on its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use sha1::Digest;

use crate::helpers::*;

/// A receiver that fails the first `fail_first` requests with HTTP 500, then accepts.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) got: Arc<Mutex<Vec<Value>>>,
    pub(crate) hits: Arc<AtomicUsize>,
    pub(crate) fail_first: Arc<AtomicUsize>,
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let n = r.hits.fetch_add(1, Ordering::SeqCst);
    r.got.lock().unwrap().push(body);
    if n < r.fail_first.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

pub(crate) async fn spawn_receiver(fail_first: usize) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = Receiver {
        url: format!("http://{}/hook", listener.local_addr().unwrap()),
        got: Arc::default(),
        hits: Arc::default(),
        fail_first: Arc::new(AtomicUsize::new(fail_first)),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    receiver
}

/// What a receiver written from Akool's documentation does: check, then decrypt.
pub(crate) fn open(body: &Value, client_id: &str, client_secret: &str) -> Value {
    let data = body["dataEncrypt"].as_str().unwrap();
    let timestamp = body["timestamp"]
        .as_i64()
        .expect("timestamp is a number")
        .to_string();
    let nonce = body["nonce"].as_str().expect("nonce is a string");
    let mut parts = [
        client_id.to_owned(),
        timestamp,
        nonce.to_owned(),
        data.to_owned(),
    ];
    parts.sort();
    let expected = hex::encode(sha1::Sha1::digest(parts.concat().as_bytes()));
    assert_eq!(body["signature"].as_str().unwrap(), expected, "signature");
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let iv: [u8; 16] = client_id.as_bytes()[..16].try_into().unwrap();
    assert_eq!(client_secret.len(), 32);
    let plain = cbc::Decryptor::<aes::Aes256>::new(client_secret.as_bytes().into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&sealed)
        .expect("decrypts");
    serde_json::from_slice(&plain).unwrap()
}

pub(crate) async fn wait_for(receiver: &Receiver, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = receiver.got.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} callbacks arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn spawn_hooked(backoff_ms: u64, max_attempts: i64) -> TestApp {
    spawn_with(|c| {
        c.webhooks.poll = Duration::from_millis(20);
        c.webhooks.backoff_base = Duration::from_millis(backoff_ms);
        c.webhooks.backoff_max = Duration::from_millis(backoff_ms * 4);
        c.webhooks.max_attempts = max_attempts;
    })
    .await
}

async fn create_hooked(app: &TestApp, me: &Account, url: &str) -> String {
    let mut body = video_body();
    body["webhookurl"] = json!(url);
    let created = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/createBySourcePrompt",
            body,
        )
        .await;
    created["data"]["_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn deliveries(app: &TestApp, video_id: &str) -> Vec<Value> {
    let (_, body) = app
        .admin_get(&format!("/webhooks?video_id={video_id}"))
        .await;
    body["data"]["result"].as_array().unwrap().clone()
}

async fn wait_state(app: &TestApp, video_id: &str, states: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = deliveries(app, video_id).await;
        let now: Vec<&str> = list
            .iter()
            .rev()
            .map(|d| d["state"].as_str().unwrap())
            .collect();
        if now == states {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "states {now:?}, wanted {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn processing_and_completion_callbacks_verify_decrypt_and_arrive_in_order() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked(50, 8).await;
    let me = app.create_account(100).await;
    let id = create_hooked(&app, &me, &receiver.url).await;
    app.drain_jobs().await;
    let got = wait_for(&receiver, 2).await;
    let first = open(&got[0], &me.client_id, &me.key);
    let second = open(&got[1], &me.client_id, &me.key);
    assert_eq!(
        first,
        json!({"_id": id, "status": 2, "type": "image2video", "url": ""})
    );
    let results = app.results(&me, &id).await;
    let url = results["data"]["result"][0]["video_url"].as_str().unwrap();
    assert_eq!(
        second,
        json!({"_id": id, "status": 3, "type": "image2video", "url": url})
    );
    let keys: Vec<&str> = got[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        4,
        "exactly signature, dataEncrypt, timestamp, nonce: {keys:?}"
    );
    wait_state(&app, &id, &["delivered", "delivered"]).await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("i2v_webhook_attempts_total{outcome=\"delivered\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_failed_video_calls_back_with_status_4() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked(50, 8).await;
    let me = app.create_account(100).await;
    let id = create_hooked(&app, &me, &receiver.url).await;
    app.set_status(&id, 4).await;
    let got = wait_for(&receiver, 1).await;
    assert_eq!(
        open(&got[0], &me.client_id, &me.key),
        json!({"_id": id, "status": 4, "type": "image2video", "url": ""})
    );
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_it_on_the_third_try_and_order_holds() {
    let receiver = spawn_receiver(2).await;
    let app = spawn_hooked(50, 8).await;
    let me = app.create_account(100).await;
    let id = create_hooked(&app, &me, &receiver.url).await;
    app.drain_jobs().await; // status 2 then 3, both queued at once
    let got = wait_for(&receiver, 4).await;
    let statuses: Vec<i64> = got
        .iter()
        .map(|b| open(b, &me.client_id, &me.key)["status"].as_i64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![2, 2, 2, 3],
        "the 3 waits until the 2 is delivered"
    );
    let list = wait_state(&app, &id, &["delivered", "delivered"]).await;
    let processing = list.last().unwrap();
    let codes: Vec<Value> = processing["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["http_status"].clone())
        .collect();
    assert_eq!(codes, vec![json!(500), json!(500), json!(200)]);
}

#[tokio::test]
async fn deliveries_survive_a_restart_mid_retry() {
    let receiver = spawn_receiver(1).await;
    let app = spawn_hooked(1500, 8).await;
    let me = app.create_account(100).await;
    let id = create_hooked(&app, &me, &receiver.url).await;
    app.set_status(&id, 4).await;
    wait_for(&receiver, 1).await; // the first attempt failed; the retry is ~1.5 s away
    let app = app.restart().await;
    let got = wait_for(&receiver, 2).await;
    assert_eq!(open(&got[1], &me.client_id, &me.key)["status"], 4);
    // The restarted server has default webhook settings; the row carried the schedule over.
    let list = wait_state(&app, &id, &["delivered"]).await;
    assert_eq!(list[0]["attempts"], 2);
}

#[tokio::test]
async fn give_up_after_max_attempts_then_redeliver_by_hand() {
    let receiver = spawn_receiver(usize::MAX).await;
    let app = spawn_hooked(20, 3).await;
    let me = app.create_account(100).await;
    let id = create_hooked(&app, &me, &receiver.url).await;
    app.set_status(&id, 4).await;
    let list = wait_state(&app, &id, &["failed"]).await;
    assert!(
        list[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempt(s)"),
        "{}",
        list[0]
    );
    assert_eq!(list[0]["attempt_log"].as_array().unwrap().len(), 3);

    receiver.fail_first.store(0, Ordering::SeqCst);
    let delivery = list[0]["id"].as_i64().unwrap();
    let (_, answer) = app
        .admin(&format!("/webhooks/{delivery}/redeliver"), json!({}))
        .await;
    assert_eq!(answer["code"], 1000);
    wait_state(&app, &id, &["delivered"]).await;
    let (_, missing) = app.admin("/webhooks/999999/redeliver", json!({})).await;
    assert_eq!(missing["code"], 1008);
}

#[tokio::test]
async fn private_receivers_are_refused_without_the_opt_in_and_deletes_remove_deliveries() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_with(|c| {
        c.allow_private_urls = false;
        c.webhooks.poll = Duration::from_millis(20);
    })
    .await;
    let me = app.create_account(100).await;
    let id = create_hooked(&app, &me, &receiver.url).await;
    app.set_status(&id, 4).await;
    let list = wait_state(&app, &id, &["failed"]).await;
    assert!(
        list[0]["last_error"].as_str().unwrap().contains("private"),
        "{}",
        list[0]
    );
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 0);

    app.delete(&me, &id).await;
    assert!(
        deliveries(&app, &id).await.is_empty(),
        "deletion removes the video's deliveries"
    );
}
