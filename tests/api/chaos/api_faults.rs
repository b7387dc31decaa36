//! API faults: each effect does what it says, `next` counts down, a seed repeats its faults,
//! faulted requests are journaled with their effect, and accounts without rules are untouched.

use serde_json::json;

use super::*;
use crate::emulator::assert_all_refused;

#[tokio::test]
async fn a_code_fault_answers_without_touching_state() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    app.set_faults(
        &me,
        json!({"rules": [{"route": "delbyids", "next": 1, "effect": {"code": 2001}}]}),
    )
    .await;

    let answer = app.delete(&me, &id).await;
    assert_eq!(answer["code"], 2001, "{answer}");
    assert!(answer["msg"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(app.status_of(&me, &id).await, Some(1), "not deleted");
    let answer = app.delete(&me, &id).await;
    assert_eq!(
        ids_of(&answer["data"]["successIds"]),
        [id],
        "next: 1 is spent"
    );

    let journal = app.journal(&format!("uid={}&path={DELETE}", me.uid)).await;
    assert_eq!(journal[1]["fault"], json!({"code": 2001}));
    assert_eq!(journal[1]["code"], 2001);
    assert_eq!(journal[0]["fault"], Value::Null);
    let left = app.faults(&me).await;
    assert_eq!(left["rules"][0]["next"], 0, "{left}");
}

#[tokio::test]
async fn an_http_fault_answers_that_status_with_retry_after() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_faults(
        &me,
        json!({"rules": [
            {"route": "createBySourcePrompt", "next": 1,
             "effect": {"http_status": 503, "retry_after_s": 7}},
            {"route": "createBySourcePrompt", "next": 1,
             "effect": {"code": 1003, "msg": "custom message"}},
        ]}),
    )
    .await;
    let create = "/api/open/v4/image2Video/createBySourcePrompt";
    let (status, headers, body) = app.send_as(&me, create, video_body()).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(app.balance(&me).await, 100, "nothing charged");
    let answer = app.post_as(&me.key, create, video_body()).await;
    assert_eq!(
        (&answer["code"], &answer["msg"]),
        (&json!(1003), &json!("custom message"))
    );
    let answer = app.post_as(&me.key, create, video_body()).await;
    assert_eq!(answer["code"], 1000, "both rules spent: {answer}");
}

#[tokio::test]
async fn a_delay_fault_answers_the_real_answer_late() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_faults(
        &me,
        json!({"rules": [{"route": "quotaInfo", "effect": {"delay_ms": 300}}]}),
    )
    .await;
    let answer = app.get_as(&me.key, QUOTA).await;
    assert_eq!(answer["code"], 1000, "{answer}");
    let entry = &app.journal(&format!("uid={}", me.uid)).await[0];
    assert!(entry["latency_ms"].as_i64().unwrap() >= 300, "{entry}");
    assert_eq!(entry["fault"], json!({"delay_ms": 300}));
}

#[tokio::test]
async fn drop_before_closes_the_connection_and_applies_nothing() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    app.set_faults(
        &me,
        json!({"rules": [{"route": "delbyids", "next": 1, "effect": {"drop": "before"}}]}),
    )
    .await;
    let sent = app.send_as(&me, DELETE, json!({"_ids": id})).await;
    assert!(sent.is_err(), "no answer: {sent:?}");
    assert_eq!(app.status_of(&me, &id).await, Some(1), "not deleted");
    let entry = &app.journal(&format!("uid={}&path={DELETE}", me.uid)).await[0];
    assert_eq!(entry["fault"], json!({"drop": "before"}));
    assert_eq!(entry["status"], Value::Null, "no answer was made");
}

#[tokio::test]
async fn drop_after_applies_the_delete_and_a_retry_finds_nothing() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let ids = app.create_videos(&me, 3).await;
    app.set_faults(
        &me,
        json!({"rules": [{"route": "delbyids", "next": 1, "effect": {"drop": "after"}}]}),
    )
    .await;
    let sent = app
        .send_as(&me, DELETE, json!({"_ids": ids.join(",")}))
        .await;
    assert!(sent.is_err(), "no answer: {sent:?}");

    let retry = app.delete(&me, &ids.join(",")).await;
    assert!(ids_of(&retry["data"]["successIds"]).is_empty(), "{retry}");
    let reasons = refusals(&retry);
    assert_eq!(reasons.len(), 3, "{retry}");
    assert!(
        reasons.iter().all(|(_, reason)| reason == NOT_FOUND),
        "{reasons:?}"
    );
    let entry = &app.journal(&format!("uid={}&path={DELETE}", me.uid)).await[1];
    assert_eq!(entry["fault"], json!({"drop": "after"}));
    assert_eq!(
        ids_of(&entry["response_body"]["data"]["successIds"]).len(),
        3,
        "the journal shows the answer that was never sent: {entry}"
    );
}

#[tokio::test]
async fn a_seed_repeats_its_faults_and_star_rules_cover_every_route() {
    let app = spawn_app().await;
    let rules = json!({"seed": 42, "rules": [
        {"route": "*", "probability": 0.5, "effect": {"code": 2001}},
    ]});
    let mut runs = Vec::new();
    for _ in 0..2 {
        let account = app.create_account(100).await;
        let set = app.set_faults(&account, rules.clone()).await;
        assert_eq!(set["seed"], 42);
        let mut faulted = Vec::new();
        for n in 0..24 {
            let answer = if n % 2 == 0 {
                app.results(&account, "x").await
            } else {
                app.get_as(&account.key, QUOTA).await
            };
            faulted.push(answer["code"] == 2001);
        }
        runs.push(faulted);
    }
    assert_eq!(runs[0], runs[1], "same seed, same faults");
    let hits = runs[0].iter().filter(|f| **f).count();
    assert!((3..=21).contains(&hits), "about half: {hits}");
}

#[tokio::test]
async fn get_token_can_fault_too() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_faults(
        &me,
        json!({"rules": [{"route": "getToken", "next": 1, "effect": {"http_status": 429}}]}),
    )
    .await;
    let (status, _) = app
        .client
        .post(app.url(TOKEN))
        .json(&json!({"clientId": me.client_id, "clientSecret": me.key}))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, answer) = app.get_token(&me).await;
    assert_eq!((status, &answer["code"]), (StatusCode::OK, &json!(1000)));
}

#[tokio::test]
async fn rules_are_per_account_and_others_get_identical_answers() {
    let app = spawn_app().await;
    let faulted = app.create_account(100).await;
    let plain = app.create_account(100).await;
    app.set_faults(
        &faulted,
        json!({"rules": [{"route": "delbyids", "effect": {"code": 2001}}]}),
    )
    .await;
    let answer = app.delete(&plain, "x").await;
    assert_ne!(answer["code"], 2001);
    // A rule for another route leaves this one's bytes as they were.
    let bytes_of = |account: &Account| {
        let request = app
            .client
            .get(app.url("/api/open/v4/image2Video/effects"))
            .header("x-api-key", account.key.clone());
        async move { request.send().await.unwrap().bytes().await.unwrap() }
    };
    assert_eq!(bytes_of(&faulted).await, bytes_of(&plain).await);
}

#[tokio::test]
async fn rules_are_shown_replaced_cleared_and_bad_ones_refused() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    assert_eq!(app.faults(&me).await, json!({"rules": []}));
    let rules = json!({"seed": 7, "rules": [
        {"route": "resultsByIds", "probability": 0.25, "effect": {"delay_ms": 5}},
        {"route": "*", "next": 2, "effect": {"drop": "after"}},
    ]});
    assert_eq!(app.set_faults(&me, rules.clone()).await, rules);
    assert_eq!(app.faults(&me).await, rules);
    let unseeded = app
        .set_faults(
            &me,
            json!({"rules": [{"route": "*", "effect": {"code": 1003}}]}),
        )
        .await;
    assert!(
        unseeded["seed"].is_u64(),
        "a seed is chosen and shown: {unseeded}"
    );

    let path = format!("/accounts/{}/faults", me.uid);
    assert_eq!(
        data_of(&path, app.admin_delete(&path).await),
        json!({"rules": []})
    );
    assert_eq!(app.faults(&me).await, json!({"rules": []}));

    assert_all_refused(
        &app,
        &path,
        true,
        &[
            json!({}),
            json!({"rules": {}}),
            json!({"rules": [{"effect": {"code": 2001}}]}),
            json!({"rules": [{"route": "deleteEverything", "effect": {"code": 2001}}]}),
            json!({"rules": [{"route": "*", "effect": {"http_status": 418}}]}),
            json!({"rules": [{"route": "*", "effect": {"drop": "later"}}]}),
            json!({"rules": [{"route": "*", "effect": {"delay_ms": -1}}]}),
            json!({"rules": [{"route": "*", "effect": {"code": 1000}}]}),
            json!({"rules": [{"route": "*", "effect": {}}]}),
            json!({"rules": [{"route": "*", "probability": 2, "effect": {"code": 1}}]}),
            json!({"rules": [{"route": "*", "next": 0, "effect": {"code": 1}}]}),
            json!({"rules": [{"route": "*", "next": 1, "probability": 0.1, "effect": {"code": 1}}]}),
            json!({"seed": "x", "rules": []}),
            json!({"rules": [], "extra": 1}),
        ],
    )
    .await;
    let (status, answer) = app.admin_get("/accounts/999999/faults").await;
    assert_eq!(
        (status, answer["code"].as_i64()),
        (StatusCode::OK, Some(1008))
    );
}

#[tokio::test]
async fn a_reset_removes_the_accounts_faults() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_faults(
        &me,
        json!({"rules": [{"route": "*", "effect": {"code": 2001}}]}),
    )
    .await;
    app.reset(&me).await;
    assert_eq!(app.faults(&me).await, json!({"rules": []}));
    assert_eq!(
        app.results(&me, "x").await["code"],
        1000,
        "answered for real"
    );
}
