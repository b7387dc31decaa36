//! Manual mode: a video stays queued until advanced, one step per call.

use serde_json::json;

use super::*;
use crate::webhooks::{open, spawn_receiver, wait_for};

#[tokio::test]
async fn a_manual_video_moves_one_step_per_advance() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let id = app.create_video(&me).await;
    for _ in 0..3 {
        assert_eq!(app.status_of(&me, &id).await, Some(1), "polls move nothing");
    }
    app.advance_clock(&me, json!({"ms": 30 * DAY_MS})).await;
    assert_eq!(app.status_of(&me, &id).await, Some(1), "nor does the clock");
    assert!(app.drain_jobs().await.is_empty(), "nor do workers");

    assert_eq!(
        app.advance_video(&id).await,
        json!({"_id": id, "status": 2})
    );
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    let refused = app.delete(&me, &id).await;
    assert_eq!(refused["data"]["successIds"], json!([]));
    assert_eq!(
        refusals(&refused),
        vec![(id.clone(), PROCESSING.to_owned())],
        "a processing video refuses deletion like a rendered one"
    );

    assert_eq!(
        app.advance_video(&id).await,
        json!({"_id": id, "status": 3})
    );
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 3);
    assert_plays(&app, &url_of(&record), (1280, 720), 5.0).await;

    let path = format!("/videos/{id}/advance");
    assert_eq!(code_of(&path, app.admin(&path, json!({})).await), 1010);
    assert_eq!(app.status_of(&me, &id).await, Some(3));
    assert_eq!(app.balance(&me).await, 80);
}

#[tokio::test]
async fn advance_without_a_body_and_of_unknown_or_failed_videos() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let id = app.create_video(&me).await;
    let (status, body) = app
        .post_raw(
            &format!("/_admin/v1/videos/{id}/advance"),
            &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
            "",
        )
        .await;
    assert_eq!(data_of("advance, no body", (status, body))["status"], 2);

    for unknown in ["6650aa11bb22cc33dd44ee55", "nope"] {
        let path = format!("/videos/{unknown}/advance");
        assert_eq!(code_of(&path, app.admin(&path, json!({})).await), 1008);
    }

    let failed = app.create_video(&me).await;
    app.set_status(&failed, 4).await;
    let path = format!("/videos/{failed}/advance");
    assert_eq!(code_of(&path, app.admin(&path, json!({})).await), 1010);
}

#[tokio::test]
async fn a_manual_video_calls_back_at_each_step() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_with(|c| c.webhooks.poll = std::time::Duration::from_millis(20)).await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let mut body = video_body();
    body["webhookurl"] = json!(receiver.url);
    let id = app.create_from(&me, body).await["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance_video(&id).await;
    let got = wait_for(&receiver, 1).await;
    assert_eq!(open(&got[0], &me.client_id, &me.key)["status"], 2);
    app.advance_video(&id).await;
    let got = wait_for(&receiver, 2).await;
    let url = url_of(&app.record(&me, &id).await);
    assert_eq!(
        open(&got[1], &me.client_id, &me.key),
        json!({"_id": id, "status": 3, "type": "image2video", "url": url})
    );
}
