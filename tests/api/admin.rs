//! The admin API: token gate, accounts, credits, forced statuses.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn admin_routes_need_the_token_and_vanish_without_one() {
    let app = spawn_app().await;
    for auth in [
        None,
        Some("Bearer wrong-token-xxxxxxxxxxxx"),
        Some(ADMIN_TOKEN),
    ] {
        let mut req = app
            .client
            .post(app.url("/_admin/v1/accounts"))
            .json(&json!({"name": "x"}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    let disabled = spawn_with(|c| c.admin_token = None).await;
    let resp = disabled
        .client
        .post(disabled.url("/_admin/v1/accounts"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn accounts_are_created_with_valid_credentials() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin("/accounts", json!({"name": "Acme", "credits": 250}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let d = &body["data"];
    assert!(d["uid"].as_i64().unwrap() > 100_000);
    assert!(i2v::domain::ObjectId::parse(d["team_id"].as_str().unwrap()).is_some());
    assert!(i2v::domain::ObjectId::parse(d["clientId"].as_str().unwrap()).is_some());
    assert_eq!(d["clientSecret"].as_str().unwrap().len(), 32);
    assert_eq!(d["credits"], 250);
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x", "credits": -1}),
        json!({"name": "x", "credits": "lots"}),
    ] {
        let (status, body) = app.admin("/accounts", bad.clone()).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::OK, Some(1003)),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn credits_can_be_topped_up_and_are_audited() {
    let app = spawn_app().await;
    let me = app.create_account(10).await;
    let (_, body) = app
        .admin(
            &format!("/accounts/{}/credits", me.uid),
            json!({"amount": 90}),
        )
        .await;
    assert_eq!(body["data"]["credits"], 100);
    assert_eq!(app.balance(&me).await, 100);
    for bad in [json!({"amount": 0}), json!({"amount": -5}), json!({})] {
        let (_, body) = app
            .admin(&format!("/accounts/{}/credits", me.uid), bad)
            .await;
        assert_eq!(body["code"], 1003);
    }
    let (_, missing) = app
        .admin("/accounts/999999/credits", json!({"amount": 5}))
        .await;
    assert_eq!(missing["code"], 1008);
    let (_, bad_uid) = app
        .admin("/accounts/abc/credits", json!({"amount": 5}))
        .await;
    assert_eq!(bad_uid["code"], 1003);
    let (_, shown) = app.admin_get(&format!("/accounts/{}", me.uid)).await;
    assert_eq!(shown["data"]["ledger_sum"], 100);
}

#[tokio::test]
async fn forced_statuses_hold_requeue_and_fail_with_refund() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;

    app.set_status(&id, 2).await;
    assert!(
        app.drain_jobs().await.is_empty(),
        "a held video is not claimed"
    );
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    assert_eq!(
        app.app.store.reap_expired(i64::MAX, 3).await.unwrap(),
        0,
        "nor reaped"
    );

    app.set_status(&id, 1).await;
    assert_eq!(app.drain_jobs().await.len(), 1);
    assert_eq!(app.status_of(&me, &id).await, Some(3));
    assert_eq!(app.blob_keys().await.len(), 1);

    // Failing a finished video refunds it and removes its file.
    app.set_status(&id, 4).await;
    assert_eq!(app.status_of(&me, &id).await, Some(4));
    assert_eq!(app.balance(&me).await, 100);
    assert!(app.blob_keys().await.is_empty());

    for (status, code) in [(3, 1003), (0, 1003), (5, 1003)] {
        let (_, body) = app
            .admin(&format!("/videos/{id}/status"), json!({"status": status}))
            .await;
        assert_eq!(body["code"], code, "status {status}");
    }
    let (_, body) = app
        .admin(
            "/videos/6650aa11bb22cc33dd44ee55/status",
            json!({"status": 4}),
        )
        .await;
    assert_eq!(body["code"], 1008);
    let (_, body) = app.admin("/videos/nope/status", json!({"status": 4})).await;
    assert_eq!(body["code"], 1008);
}

#[tokio::test]
async fn two_authorization_headers_are_refused_even_if_one_is_right() {
    let app = spawn_app().await;
    let right = format!("Bearer {ADMIN_TOKEN}");
    for pair in [
        [right.as_str(), "Bearer wrong-token-xxxxxxxxxxxx"],
        ["Bearer wrong-token-xxxxxxxxxxxx", right.as_str()],
        [right.as_str(), right.as_str()],
    ] {
        let (status, body) = app
            .post_raw(
                "/_admin/v1/accounts",
                &[("authorization", pair[0]), ("authorization", pair[1])],
                json!({"name": "x"}).to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{pair:?}");
        assert_eq!(
            body["msg"], "more than one Authorization header",
            "{pair:?}"
        );
    }
    let (status, _) = app.admin("/accounts", json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::OK, "one header still works");
}
