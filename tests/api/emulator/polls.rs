//! Polls mode: a video moves on exactly the Nth and Mth resultsByIds call that includes it.

use serde_json::json;

use super::*;

#[tokio::test]
async fn a_polls_video_moves_on_exactly_the_nth_and_mth_poll() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(
        &me,
        json!({"mode": "polls", "processing_after": 2, "complete_after": 4}),
    )
    .await;
    let id = app.create_video(&me).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(app.status_of(&me, &id).await.unwrap());
    }
    assert_eq!(seen, vec![1, 2, 2, 3, 3]);
    assert_plays(&app, &url_of(&app.record(&me, &id).await), (1280, 720), 5.0).await;
}

#[tokio::test]
async fn only_calls_that_include_the_video_count() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(
        &me,
        json!({"mode": "polls", "processing_after": 2, "complete_after": 4}),
    )
    .await;
    let watched = app.create_video(&me).await;
    let bystander = app.create_video(&me).await;
    let other = app.create_account(100).await;

    let mut seen = vec![app.status_of(&me, &watched).await.unwrap()];
    for _ in 0..5 {
        app.results(&me, &bystander).await;
        // Someone else asking for the id (it is not theirs) is not a poll of it either.
        app.results(&other, &watched).await;
        app.results(&me, "6650aa11bb22cc33dd44ee55").await;
    }
    // A call naming it twice is one call that includes it.
    let twice = app.results(&me, &format!("{watched},{watched}")).await;
    seen.push(twice["data"]["result"][0]["status"].as_i64().unwrap());
    seen.push(app.status_of(&me, &watched).await.unwrap());
    // A call with several ids counts for each of them.
    let both = app.results(&me, &format!("{bystander},{watched}")).await;
    let items = both["data"]["result"].as_array().unwrap();
    let pos = items.iter().position(|v| v["_id"] == watched.as_str());
    seen.push(
        items[pos.expect("watched is listed")]["status"]
            .as_i64()
            .unwrap(),
    );
    assert_eq!(seen, vec![1, 2, 2, 3]);
    // The bystander was in 5 + 1 calls: it is long complete.
    assert_eq!(app.status_of(&me, &bystander).await, Some(3));
}

#[tokio::test]
async fn a_processing_polls_video_refuses_deletion() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(
        &me,
        json!({"mode": "polls", "processing_after": 1, "complete_after": 3}),
    )
    .await;
    let id = app.create_video(&me).await;
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    let refused = app.delete(&me, &id).await;
    assert_eq!(
        refusals(&refused),
        vec![(id.clone(), PROCESSING.to_owned())]
    );
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 3);
    let url = url_of(&record);
    assert_eq!(
        ids_of(&app.delete(&me, &id).await["data"]["successIds"]),
        vec![id]
    );
    assert!(app.gone(&url).await);
    assert!(app.files_left().await.is_empty());
}
