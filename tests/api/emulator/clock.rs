//! The per-account clock: reading and advancing it, and what reads it (create_time, retention,
//! token expiry); the all-accounts advance.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::*;

fn offset(clock: &serde_json::Value) -> i64 {
    clock["offset_ms"].as_i64().unwrap()
}

fn now_of(clock: &serde_json::Value) -> i64 {
    clock["now_ms"].as_i64().unwrap()
}

#[tokio::test]
async fn the_clock_starts_at_real_time_and_only_moves_forward() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let before = i2v::clock::now_ms();
    let clock = app.clock(&me).await;
    let after = i2v::clock::now_ms();
    assert_eq!(offset(&clock), 0);
    assert!(
        (before..=after).contains(&now_of(&clock)),
        "{clock} not within [{before}, {after}]"
    );

    let moved = app.advance_clock(&me, json!({"ms": 1000})).await;
    assert_eq!(offset(&moved), 1000);
    assert!(now_of(&moved) >= after + 1000);
    assert_eq!(offset(&app.clock(&me).await), 1000);

    let target = now_of(&moved) + DAY_MS;
    let moved = app.advance_clock(&me, json!({"to_ms": target})).await;
    assert!(now_of(&moved) >= target, "{moved}");
    assert!(
        (1000 + 1..=1000 + DAY_MS).contains(&offset(&moved)),
        "{moved}"
    );

    let path = format!("/accounts/{}/clock/advance", me.uid);
    let past = now_of(&moved) - 1000;
    let bad = [
        json!({"to_ms": past}),
        json!({"to_ms": 0}),
        json!({"ms": -1}),
        json!({}),
        json!({"ms": 1000, "to_ms": target + DAY_MS}),
    ];
    assert_all_refused(&app, &path, false, &bad).await;
    assert_eq!(
        offset(&app.clock(&me).await),
        offset(&moved),
        "refusals move nothing"
    );

    let (_, missing) = app.admin_get("/accounts/999999/clock").await;
    assert_eq!(missing["code"], 1008);
    let missing = app
        .admin("/accounts/999999/clock/advance", json!({"ms": 1}))
        .await;
    assert_eq!(code_of("unknown account", missing), 1008);
}

#[tokio::test]
async fn new_records_read_the_account_clock() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    let real = i2v::clock::now_ms();
    app.advance_clock(&me, json!({"ms": DAY_MS})).await;
    let created = app.create_from(&me, video_body()).await;
    assert!(
        created["create_time"].as_i64().unwrap() >= real + DAY_MS,
        "{created}"
    );
    let record = app.record(&me, created["_id"].as_str().unwrap()).await;
    assert!(record["create_time"].as_i64().unwrap() >= real + DAY_MS);
    assert!(record["update_time"].as_i64().unwrap() >= real + DAY_MS);

    let theirs = app.create_from(&other, video_body()).await;
    assert!(
        theirs["create_time"].as_i64().unwrap() < real + DAY_MS,
        "another account's clock did not move: {theirs}"
    );
}

/// Waits (bounded) until the file `key` is gone from storage.
async fn wait_gone(app: &TestApp, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.files_left().await.iter().any(|k| k == key) {
        assert!(Instant::now() < deadline, "{key} was never removed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn key_of(url: &str) -> String {
    url.split("/files/").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn eight_days_on_one_clock_expire_that_accounts_files_only() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    for account in [&me, &other] {
        app.set_lifecycle(account, json!({"mode": "instant"})).await;
    }
    let mine = app.create_video(&me).await;
    let theirs = app.create_video(&other).await;
    let my_url = url_of(&app.record(&me, &mine).await);
    let their_url = url_of(&app.record(&other, &theirs).await);
    assert_eq!(app.blob_keys().await.len(), 2);

    app.advance_clock(&me, json!({"ms": 6 * DAY_MS})).await;
    assert!(
        app.record(&me, &mine).await["video_url"].is_string(),
        "kept for 7 days"
    );

    app.advance_clock(&me, json!({"ms": 2 * DAY_MS})).await;
    let expired = app.record(&me, &mine).await;
    assert_eq!(expired["status"], 3, "the record stays");
    assert!(expired.get("video_url").is_none(), "{expired}");
    wait_gone(&app, &key_of(&my_url)).await;
    assert!(app.gone(&my_url).await);

    let kept = app.record(&other, &theirs).await;
    assert_eq!(url_of(&kept), their_url);
    app.mp4_at(&their_url).await;
    assert_eq!(app.blob_keys().await, vec![key_of(&their_url)]);

    // The expired record still deletes.
    assert_eq!(
        ids_of(&app.delete(&me, &mine).await["data"]["successIds"]),
        vec![mine]
    );
}

#[tokio::test]
async fn the_all_accounts_advance_moves_every_clock() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    app.advance_clock(&other, json!({"ms": 5000})).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    let id = app.create_video(&me).await;

    let answer = data_of(
        "/clock/advance",
        app.admin("/clock/advance", json!({"ms": 8 * DAY_MS})).await,
    );
    assert_eq!(answer, json!({"accounts": 2}));
    assert_eq!(offset(&app.clock(&me).await), 8 * DAY_MS);
    assert_eq!(offset(&app.clock(&other).await), 8 * DAY_MS + 5000);
    let record = app.record(&me, &id).await;
    assert!(record.get("video_url").is_none(), "expired: {record}");

    let bad = [json!({"ms": -5}), json!({}), json!({"ms": "soon"})];
    assert_all_refused(&app, "/clock/advance", false, &bad).await;
    let anonymous = app
        .client
        .post(app.url("/_admin/v1/clock/advance"))
        .json(&json!({"ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn token_for(app: &TestApp, account: &Account) -> String {
    let (status, body) = app
        .post_raw(
            "/api/open/v3/getToken",
            &[("content-type", "application/json")],
            json!({"clientId": account.client_id, "clientSecret": account.key}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["code"], 1000, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn quota_code(app: &TestApp, token: &str) -> i64 {
    let body: serde_json::Value = app
        .client
        .get(app.url("/api/open/v3/faceswap/quota/info"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["code"].as_i64().unwrap()
}

#[tokio::test]
async fn tokens_expire_on_the_account_clock() {
    let app = spawn_with(|c| c.tokens.ttl = Duration::from_secs(2 * 86_400)).await;
    let me = app.create_account(10).await;
    let other = app.create_account(10).await;
    let token = token_for(&app, &me).await;
    let their_token = token_for(&app, &other).await;
    assert_eq!(quota_code(&app, &token).await, 1000);

    app.advance_clock(&me, json!({"ms": DAY_MS})).await;
    assert_eq!(quota_code(&app, &token).await, 1000, "one day of two");
    app.advance_clock(&me, json!({"ms": DAY_MS + 60_000})).await;
    assert_eq!(quota_code(&app, &token).await, 1101, "past tokens.ttl_days");
    assert_eq!(quota_code(&app, &their_token).await, 1000, "not theirs");
    // The key still works, and a new token is valid from the account's now.
    assert_eq!(app.balance(&me).await, 10);
    let fresh = token_for(&app, &me).await;
    assert_eq!(quota_code(&app, &fresh).await, 1000);
}
