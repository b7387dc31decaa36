//! Instant mode: a new video is complete in the create answer, with a real MP4 of the requested
//! size and length, both callbacks sent, and deletes that leave no file; cheap enough for 1,000.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use super::*;
use crate::webhooks::{open, spawn_receiver, wait_for};

const VIDEOS: usize = 1000;
const PER_BATCH: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_instant_videos_are_complete_playable_and_delete_cleanly() {
    let app = spawn_app().await;
    let me = app.create_account(20 * VIDEOS as i64).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;

    let started = Instant::now();
    let batches: Vec<Vec<serde_json::Value>> = futures::stream::iter(0..VIDEOS / PER_BATCH)
        .map(|_| app.create_batch(&me, PER_BATCH))
        .buffer_unordered(8)
        .collect()
        .await;
    let elapsed = started.elapsed();
    eprintln!(
        "instant mode: {VIDEOS} videos in {:.2} s ({:.0} videos/s)",
        elapsed.as_secs_f64(),
        VIDEOS as f64 / elapsed.as_secs_f64()
    );
    let items: Vec<serde_json::Value> = batches.into_iter().flatten().collect();
    assert_eq!(items.len(), VIDEOS);
    let not_done: Vec<&serde_json::Value> = items.iter().filter(|i| i["status"] != 3).collect();
    assert!(
        not_done.is_empty(),
        "the create answer already shows 3; {} do not, e.g. {}",
        not_done.len(),
        not_done.first().map(|v| v.to_string()).unwrap_or_default()
    );
    assert_eq!(app.balance(&me).await, 0, "instant videos are charged");

    let ids = ids_in(&items);
    let records = app.records(&me, &ids).await;
    assert_eq!(records.len(), VIDEOS);
    for record in &records {
        assert_eq!(record["status"], 3, "{record}");
        assert!(record["video_url"].is_string(), "{record}");
    }
    app.mp4_at(&url_of(&records[0])).await;
    app.mp4_at(&url_of(&records[VIDEOS - 1])).await;

    let deleted = app.delete_all(&me, &ids).await;
    assert_eq!(deleted.len(), VIDEOS);
    assert!(app.records(&me, &ids).await.is_empty());
    assert!(app.gone(&url_of(&records[0])).await);
    assert_eq!(app.files_left().await, Vec::<String>::new(), "no file left");
    assert!(app.outbox_is_empty().await);
    assert_eq!(app.balance(&me).await, 0, "deletes never refund");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_video_has_the_requested_size_and_length() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    for (resolution, seconds, size) in [("1080p", 10, (1920, 1080)), ("720p", 5, (1280, 720))] {
        let created = app.create_from(&me, sized(resolution, seconds)).await;
        assert_eq!(created["status"], 3, "{created}");
        let record = app.record(&me, created["_id"].as_str().unwrap()).await;
        assert_eq!(record["status"], 3);
        assert_eq!(record["resolution"], resolution);
        assert_plays(&app, &url_of(&record), size, seconds as f64).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_video_calls_back_for_2_then_3() {
    let receiver = spawn_receiver(0).await;
    let app = spawn_with(|c| c.webhooks.poll = Duration::from_millis(20)).await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    let mut body = video_body();
    body["webhookurl"] = json!(receiver.url);
    let id = app.create_from(&me, body).await["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = wait_for(&receiver, 2).await;
    let url = url_of(&app.record(&me, &id).await);
    assert_eq!(
        open(&got[0], &me.client_id, &me.key),
        json!({"_id": id, "status": 2, "type": "image2video", "url": ""})
    );
    assert_eq!(
        open(&got[1], &me.client_id, &me.key),
        json!({"_id": id, "status": 3, "type": "image2video", "url": url})
    );
}
