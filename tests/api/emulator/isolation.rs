//! Accounts never see each other's modes, clocks or outcomes: parallel CI jobs can share one
//! server with one account each.

use serde_json::json;

use super::*;

#[tokio::test]
async fn two_accounts_keep_their_own_modes_clocks_and_outcomes() {
    let app = spawn_app().await;
    let a = app.create_account(100).await;
    let b = app.create_account(100).await;
    app.set_lifecycle(&a, json!({"mode": "instant"})).await;
    app.set_lifecycle(
        &b,
        json!({"mode": "polls", "processing_after": 1, "complete_after": 2}),
    )
    .await;
    app.push_outcomes(&b, json!([{"result": "fail", "reason": "only b"}]))
        .await;
    app.advance_clock(&b, json!({"ms": 3 * DAY_MS})).await;

    assert_eq!(app.lifecycle(&a).await, json!({"mode": "instant"}));
    assert_eq!(app.clock(&a).await["offset_ms"], 0);
    assert_eq!(app.outcomes(&a).await, json!([]));

    let from_a = app.create_from(&a, video_body()).await;
    assert_eq!(
        from_a["status"], 3,
        "a's own mode, not b's outcome: {from_a}"
    );
    assert!(from_a["create_time"].as_i64().unwrap() < i2v::clock::now_ms() + DAY_MS);
    assert_eq!(app.outcomes(&b).await.as_array().unwrap().len(), 1);

    let from_b = app.create_from(&b, video_body()).await;
    assert!(from_b["create_time"].as_i64().unwrap() >= i2v::clock::now_ms() + 2 * DAY_MS);
    let id_b = from_b["_id"].as_str().unwrap();
    let record = app.record(&b, id_b).await;
    assert_eq!(record["status"], 2, "b's polls timing: {record}");
    let record = app.record(&b, id_b).await;
    assert_eq!(record["status"], 4, "b's outcome: {record}");
    assert_eq!(record["error_reason"], "only b");

    // Neither sees the other's video, and a's lifecycle change leaves b's alone.
    let a_id = from_a["_id"].as_str().unwrap();
    assert_eq!(app.status_of(&b, a_id).await, None);
    assert_eq!(app.status_of(&a, id_b).await, None);
    app.set_lifecycle(&a, json!({"mode": "manual"})).await;
    assert_eq!(
        app.lifecycle(&b).await,
        json!({"mode": "polls", "processing_after": 1, "complete_after": 2})
    );
    assert_eq!(app.clock(&a).await["offset_ms"], 0);
    assert_eq!(app.clock(&b).await["offset_ms"], 3 * DAY_MS);
}

#[tokio::test]
async fn an_account_that_sets_no_lifecycle_renders_for_real() {
    let app = spawn_app().await;
    let chosen = app.create_account(100).await;
    let plain = app.create_account(100).await;
    app.set_lifecycle(&chosen, json!({"mode": "manual"})).await;
    assert_eq!(app.lifecycle(&plain).await, json!({"mode": "render"}));
    let id = app.create_video(&plain).await;
    assert_eq!(app.status_of(&plain, &id).await, Some(1));
    assert_eq!(
        app.drain_jobs().await.len(),
        1,
        "the plain account's video is a real render job"
    );
    assert_eq!(app.status_of(&plain, &id).await, Some(3));
}
