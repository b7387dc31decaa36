//! Webhook faults (`/_admin/v1/accounts/{uid}/webhook-faults`): each effect seen by a receiver
//! that verifies and decrypts on its own, and the delivery log saying what was done on purpose.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha1::Digest;

use crate::emulator::{assert_all_refused, code_of, data_of};
use crate::helpers::*;
use crate::webhooks::{deliveries, open, spawn_receiver, wait_for, Receiver};

const HOUR_MS: i64 = 3_600_000;

async fn spawn_hooked() -> TestApp {
    spawn_with(|c| {
        c.webhooks.poll = Duration::from_millis(20);
        c.webhooks.backoff_base = Duration::from_millis(50);
        c.webhooks.backoff_max = Duration::from_millis(200);
    })
    .await
}

fn faults_path(account: &Account) -> String {
    format!("/accounts/{}/webhook-faults", account.uid)
}

async fn set_faults(app: &TestApp, account: &Account, rules: Value) -> Value {
    let path = faults_path(account);
    data_of(&path, app.admin_put(&path, rules).await)
}

/// An account whose videos finish at once (`instant`) or move by hand (`manual`).
async fn account(app: &TestApp, mode: &str, rules: Value) -> Account {
    let me = app.create_account(1000).await;
    let path = format!("/accounts/{}/lifecycle", me.uid);
    data_of(&path, app.admin_put(&path, json!({ "mode": mode })).await);
    set_faults(app, &me, rules).await;
    me
}

async fn create(app: &TestApp, me: &Account, receiver: &Receiver) -> String {
    let mut body = video_body();
    body["webhookurl"] = json!(receiver.url);
    let created = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/createBySourcePrompt",
            body,
        )
        .await;
    assert_eq!(created["code"], 1000, "{created}");
    created["data"]["_id"].as_str().unwrap().to_owned()
}

/// The video's deliveries, oldest first, once none is pending (or, with `held`, held).
async fn settled(app: &TestApp, id: &str, held_ok: bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut list = deliveries(app, id).await;
        list.reverse();
        let open_states: &[&str] = if held_ok {
            &["pending"]
        } else {
            &["pending", "held"]
        };
        if !list.is_empty()
            && list
                .iter()
                .all(|d| !open_states.contains(&d["state"].as_str().unwrap()))
        {
            return list;
        }
        assert!(Instant::now() < deadline, "not settled: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn delivery_of(list: &[Value], status: i64) -> &Value {
    list.iter()
        .find(|d| d["video_status"] == status)
        .unwrap_or_else(|| panic!("no status-{status} delivery: {list:?}"))
}

fn statuses(got: &[Value], me: &Account) -> Vec<i64> {
    got.iter()
        .map(|b| open(b, &me.client_id, &me.key)["status"].as_i64().unwrap())
        .collect()
}

fn expected_signature(body: &Value, client_id: &str) -> String {
    let mut parts = [
        client_id.to_owned(),
        body["timestamp"].as_i64().unwrap().to_string(),
        body["nonce"].as_str().unwrap().to_owned(),
        body["dataEncrypt"].as_str().unwrap().to_owned(),
    ];
    parts.sort();
    hex::encode(sha1::Sha1::digest(parts.concat().as_bytes()))
}

#[tokio::test]
async fn a_duplicated_callback_arrives_twice_with_the_same_signed_body() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let me = account(
        &app,
        "instant",
        json!({"rules": [{"status": 3, "effect": "duplicate"}]}),
    )
    .await;
    let id = create(&app, &me, &receiver).await;
    let got = wait_for(&receiver, 3).await;
    assert_eq!(statuses(&got, &me), vec![2, 3, 3]);
    assert_eq!(got[1], got[2], "the same signed body twice");
    let list = settled(&app, &id, false).await;
    let completed = delivery_of(&list, 3);
    assert_eq!(completed["fault"], "duplicate");
    assert_eq!(completed["state"], "delivered");
    let log = completed["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{completed}");
    assert!(log.iter().all(|a| a["http_status"] == 200), "{completed}");
    assert_eq!(delivery_of(&list, 2)["fault"], Value::Null);
}

#[tokio::test]
async fn a_reordered_processing_callback_is_held_until_the_final_one_is_sent() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let me = account(
        &app,
        "manual",
        json!({"rules": [{"status": 2, "effect": "reorder"}]}),
    )
    .await;
    let id = create(&app, &me, &receiver).await;
    app.advance_video(&id).await; // 1 -> 2: its callback is held, and blocks nothing
    let list = settled(&app, &id, true).await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["state"].as_str(), &list[0]["fault"]),
        (Some("held"), &json!("reorder"))
    );
    app.advance_video(&id).await; // 2 -> 3
    let got = wait_for(&receiver, 2).await;
    assert_eq!(
        statuses(&got, &me),
        vec![3, 2],
        "the 2 comes right after the 3"
    );
    let list = settled(&app, &id, false).await;
    assert!(list.iter().all(|d| d["state"] == "delivered"), "{list:?}");
    assert!(
        delivery_of(&list, 2)["attempt_log"][0]["at"].as_i64()
            >= delivery_of(&list, 3)["attempt_log"][0]["at"].as_i64()
    );
}

#[tokio::test]
async fn a_delayed_callback_is_sent_that_much_later() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let me = account(
        &app,
        "instant",
        json!({"rules": [{"status": 3, "effect": {"delay_ms": 1500}}]}),
    )
    .await;
    let id = create(&app, &me, &receiver).await;
    let got = wait_for(&receiver, 2).await;
    assert_eq!(statuses(&got, &me), vec![2, 3]);
    let list = settled(&app, &id, false).await;
    let completed = delivery_of(&list, 3);
    assert_eq!(completed["fault"], json!({"delay_ms": 1500}));
    let sent_at = completed["attempt_log"][0]["at"].as_i64().unwrap();
    let created_at = completed["created_at"].as_i64().unwrap();
    assert!(
        sent_at - created_at >= 1500,
        "sent {} ms after it was due",
        sent_at - created_at
    );
    assert_eq!(
        completed["attempt_log"].as_array().unwrap().len(),
        1,
        "delayed once"
    );
}

#[tokio::test]
async fn a_bad_signature_does_not_verify_but_decrypts_and_next_counts_down() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let me = account(
        &app,
        "instant",
        json!({"rules": [{"next": 1, "effect": "bad_signature"}]}),
    )
    .await;
    let id = create(&app, &me, &receiver).await;
    let got = wait_for(&receiver, 2).await;
    let good = expected_signature(&got[0], &me.client_id);
    assert_ne!(
        got[0]["signature"].as_str().unwrap(),
        good,
        "the first does not verify"
    );
    assert_eq!(got[0]["signature"].as_str().unwrap().len(), good.len());
    let mut fixed = got[0].clone();
    fixed["signature"] = json!(good);
    assert_eq!(
        open(&fixed, &me.client_id, &me.key)["_id"],
        id,
        "everything else is intact"
    );
    assert_eq!(
        open(&got[1], &me.client_id, &me.key)["status"],
        3,
        "next: 1 is spent"
    );
    let list = settled(&app, &id, false).await;
    assert_eq!(delivery_of(&list, 2)["fault"], "bad_signature");
    assert_eq!(delivery_of(&list, 3)["fault"], Value::Null);
    let left = data_of("GET", app.admin_get(&faults_path(&me)).await);
    assert_eq!(left["rules"][0]["next"], 0, "{left}");
}

#[tokio::test]
async fn a_stale_timestamp_is_an_hour_old_and_signed() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let me = account(
        &app,
        "instant",
        json!({"rules": [{"status": 3, "effect": "stale_timestamp"}]}),
    )
    .await;
    let id = create(&app, &me, &receiver).await;
    let got = wait_for(&receiver, 2).await;
    assert_eq!(
        open(&got[1], &me.client_id, &me.key)["status"],
        3,
        "verifies"
    );
    let list = settled(&app, &id, false).await;
    let completed = delivery_of(&list, 3);
    assert_eq!(completed["fault"], "stale_timestamp");
    let stamped = got[1]["timestamp"].as_i64().unwrap();
    let created_at = completed["created_at"].as_i64().unwrap();
    let sent_at = completed["attempt_log"][0]["at"].as_i64().unwrap();
    assert!(
        created_at - HOUR_MS <= stamped && stamped <= sent_at - HOUR_MS,
        "an hour before it was sent: {stamped}, created {created_at}, sent {sent_at}"
    );
    let fresh = got[0]["timestamp"].as_i64().unwrap();
    assert!(fresh >= created_at - 1000, "the unfaulted one is not stale");
}

#[tokio::test]
async fn a_dropped_callback_is_never_sent_and_the_log_says_dropped() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let me = account(
        &app,
        "instant",
        json!({"rules": [{"status": 2, "effect": "drop"}]}),
    )
    .await;
    let id = create(&app, &me, &receiver).await;
    let got = wait_for(&receiver, 1).await;
    // The 3 waits for the 2 to settle, so a 2 that was sent would have come first.
    assert_eq!(statuses(&got, &me), vec![3]);
    let list = settled(&app, &id, false).await;
    let processing = delivery_of(&list, 2);
    assert_eq!(processing["state"], "dropped");
    assert_eq!(processing["fault"], "drop");
    assert_eq!(processing["attempts"], 0);
    assert!(processing["attempt_log"].as_array().unwrap().is_empty());
    assert!(processing["finished_at"].is_i64());
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
}

/// Creates `count` videos one after another, each settled before the next: which of their
/// status-3 callbacks were dropped.
async fn drops(app: &TestApp, me: &Account, receiver: &Receiver, count: usize) -> Vec<bool> {
    let mut out = Vec::new();
    for _ in 0..count {
        let id = create(app, me, receiver).await;
        let list = settled(app, &id, false).await;
        out.push(delivery_of(&list, 3)["state"] == "dropped");
    }
    out
}

#[tokio::test]
async fn a_seed_repeats_its_faults_on_another_account_and_as_the_domain_draws_them() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_hooked().await;
    let rules = json!({"seed": 42, "rules": [{"status": 3, "probability": 0.5, "effect": "drop"}]});
    let first = account(&app, "instant", rules.clone()).await;
    let second = account(&app, "instant", rules.clone()).await;
    let a = drops(&app, &first, &receiver, 8).await;
    let b = drops(&app, &second, &receiver, 8).await;
    assert_eq!(a, b, "the same seed, the same faults");
    let mut set = i2v::domain::faults::parse_webhook_faults(&rules).unwrap();
    let drawn: Vec<bool> = (0..8).map(|_| set.take("3").is_some()).collect();
    assert_eq!(a, drawn);
}

#[tokio::test]
async fn rules_are_set_shown_and_cleared_and_bad_ones_refused() {
    let app = spawn_hooked().await;
    let me = app.create_account(100).await;
    let path = faults_path(&me);
    assert_eq!(
        data_of(&path, app.admin_get(&path).await),
        json!({"rules": []})
    );
    let rules = json!({"seed": 5, "rules": [
        {"status": 2, "next": 3, "effect": "reorder"},
        {"probability": 0.25, "effect": {"delay_ms": 2000}},
        {"status": 4, "effect": "stale_timestamp"},
    ]});
    let set = set_faults(&app, &me, rules.clone()).await;
    assert_eq!(set, rules, "PUT answers the rules as stored");
    assert_eq!(data_of(&path, app.admin_get(&path).await), rules);
    let unseeded = set_faults(&app, &me, json!({"rules": [{"effect": "drop"}]})).await;
    assert!(
        unseeded["seed"].is_u64(),
        "a seed is chosen and shown: {unseeded}"
    );
    assert_eq!(
        data_of(&path, app.admin_delete(&path).await),
        json!({"rules": []})
    );
    assert_eq!(
        data_of(&path, app.admin_get(&path).await),
        json!({"rules": []})
    );

    let missing = "/accounts/987654/webhook-faults";
    assert_eq!(code_of(missing, app.admin_get(missing).await), 1008);
    assert_eq!(
        code_of(missing, app.admin_put(missing, json!({"rules": []})).await),
        1008
    );
    assert_eq!(code_of(missing, app.admin_delete(missing).await), 1008);
    assert_all_refused(
        &app,
        &path,
        true,
        &[
            json!([]),
            json!({"rules": "no"}),
            json!({"seed": -1, "rules": []}),
            json!({"rules": [], "extra": 1}),
            json!({"rules": [{"effect": "explode"}]}),
            json!({"rules": [{"status": 1, "effect": "drop"}]}),
            json!({"rules": [{"status": "3", "effect": "drop"}]}),
            json!({"rules": [{"route": "*", "effect": "drop"}]}),
            json!({"rules": [{"next": 0, "effect": "drop"}]}),
            json!({"rules": [{"probability": 2, "effect": "drop"}]}),
            json!({"rules": [{"probability": 0.5, "next": 1, "effect": "drop"}]}),
            json!({"rules": [{"effect": {"delay_ms": 0}}]}),
            json!({"rules": [{"effect": {"delay_ms": 600_001}}]}),
            json!({"rules": [{"effect": {"delay_ms": 5, "x": 1}}]}),
            json!({"rules": [{"status": 3}]}),
        ],
    )
    .await;
    let refused = app
        .admin_put(&path, json!({"rules": [{"effect": "explode"}]}))
        .await
        .1;
    assert!(
        refused["msg"].as_str().unwrap().contains("rules[0].effect"),
        "{refused}"
    );
}
