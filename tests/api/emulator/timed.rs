//! Timed mode: a video moves only when its account's clock passes create_time + N and + M.
//!
//! The account clock is real time plus an offset, so it keeps running between two calls: each
//! "not yet" check stays a generous ten minutes short of the threshold, and each "now" check
//! moves the clock to the threshold itself (an advance answers after what is due is applied).

use serde_json::json;

use super::*;

const PROCESSING_MS: i64 = 3_600_000;
const COMPLETE_MS: i64 = 7_200_000;
const MARGIN_MS: i64 = 600_000;

fn timed() -> serde_json::Value {
    json!({"mode": "timed", "processing_after_ms": PROCESSING_MS, "complete_after_ms": COMPLETE_MS})
}

#[tokio::test]
async fn a_timed_video_moves_only_when_its_accounts_clock_passes_the_times() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, timed()).await;
    let created = app.create_from(&me, video_body()).await;
    let id = created["_id"].as_str().unwrap().to_owned();
    let t0 = created["create_time"].as_i64().unwrap();
    assert_eq!(created["status"], 1);
    assert_eq!(app.status_of(&me, &id).await, Some(1));

    app.clock_to(&me, t0, PROCESSING_MS - MARGIN_MS).await;
    assert_eq!(app.status_of(&me, &id).await, Some(1), "not yet processing");
    app.clock_to(&me, t0, PROCESSING_MS).await;
    assert_eq!(app.status_of(&me, &id).await, Some(2), "processing at N");
    let refused = app.delete(&me, &id).await;
    assert_eq!(
        refusals(&refused),
        vec![(id.clone(), PROCESSING.to_owned())]
    );

    app.clock_to(&me, t0, COMPLETE_MS - MARGIN_MS).await;
    assert_eq!(app.status_of(&me, &id).await, Some(2), "not yet complete");
    app.clock_to(&me, t0, COMPLETE_MS).await;
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 3, "complete at M: {record}");
    assert_plays(&app, &url_of(&record), (1280, 720), 5.0).await;
    assert!(
        record["update_time"].as_i64().unwrap() >= t0 + COMPLETE_MS,
        "update_time reads the account clock: {record}"
    );
    assert_eq!(app.balance(&me).await, 80);
}

#[tokio::test]
async fn ms_advances_add_up_to_the_thresholds() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, timed()).await;
    let id = app.create_video(&me).await;
    app.advance_clock(&me, json!({"ms": PROCESSING_MS - MARGIN_MS}))
        .await;
    assert_eq!(app.status_of(&me, &id).await, Some(1));
    app.advance_clock(&me, json!({"ms": MARGIN_MS})).await;
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    app.advance_clock(&me, json!({"ms": COMPLETE_MS})).await;
    assert_eq!(app.status_of(&me, &id).await, Some(3));
}

#[tokio::test]
async fn another_accounts_clock_moves_nothing_of_mine() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    app.set_lifecycle(&me, timed()).await;
    app.set_lifecycle(&other, timed()).await;
    let mine = app.create_video(&me).await;
    let theirs = app.create_from(&other, video_body()).await;
    let t0 = theirs["create_time"].as_i64().unwrap();
    let theirs = theirs["_id"].as_str().unwrap().to_owned();

    app.clock_to(&other, t0, COMPLETE_MS).await;
    assert_eq!(app.status_of(&other, &theirs).await, Some(3));
    assert_eq!(app.status_of(&me, &mine).await, Some(1));
    assert_eq!(app.clock(&me).await["offset_ms"], 0);
}

/// With no delay nothing has to be advanced: the video completes on its own (how soon is the
/// server's business, so this waits, bounded).
#[tokio::test]
async fn zero_delays_complete_without_advancing() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(
        &me,
        json!({"mode": "timed", "processing_after_ms": 0, "complete_after_ms": 0}),
    )
    .await;
    let id = app.create_video(&me).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let record = loop {
        let record = app.record(&me, &id).await;
        if record["status"] == 3 {
            break record;
        }
        assert!(std::time::Instant::now() < deadline, "{record}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    app.mp4_at(&url_of(&record)).await;
}
