//! Seed: records made directly in any status, at no cost, with real files for status 3.

use std::time::Instant;

use serde_json::{json, Value};

use super::*;

fn seeded_ids(answer: &(reqwest::StatusCode, Value)) -> Vec<String> {
    let data = data_of("seed", answer.clone());
    ids_of(&data["ids"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_videos_have_their_statuses_and_finished_ones_play_and_delete() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let answer = app
        .seed(
            &me,
            json!([
                {"status": 3, "resolution": "1080p", "video_length": 10, "prompt": "seeded one",
                 "image_url": "https://example.com/in/seed.png"},
                {"status": 1, "create_time": 1_700_000_000_000i64},
                {"status": 2},
                {"status": 4, "error_reason": "seeded failure"},
                {"status": 3},
            ]),
        )
        .await;
    let ids = seeded_ids(&answer);
    assert_eq!(ids.len(), 5);
    let records = app.records(&me, &ids).await;
    assert_eq!(ids_in(&records), ids, "the ids come back in request order");
    assert_eq!(statuses(&records), vec![3, 1, 2, 4, 3]);
    let first = &records[0];
    assert_eq!(first["prompt"], "seeded one");
    assert_eq!(first["image_url"], "https://example.com/in/seed.png");
    assert_eq!(first["resolution"], "1080p");
    assert_eq!(records[1]["create_time"], 1_700_000_000_000i64);
    assert_eq!(records[4]["resolution"], "720p", "the default");
    assert_eq!(records[3]["error_reason"], "seeded failure");
    assert!(
        records.iter().all(|r| r["deduction_credit"] == 0),
        "{records:?}"
    );
    assert_eq!(app.balance(&me).await, 100, "seeding costs nothing");

    assert_plays(&app, &url_of(first), (1920, 1080), 10.0).await;
    assert_plays(&app, &url_of(&records[4]), (1280, 720), 5.0).await;
    assert_eq!(app.blob_keys().await.len(), 2);

    // Queued and processing seeds stay put.
    assert!(
        app.drain_jobs().await.is_empty(),
        "a seeded queued video is not rendered"
    );
    assert_eq!(statuses(&app.records(&me, &ids).await), vec![3, 1, 2, 4, 3]);

    let answer = app.delete(&me, &ids.join(",")).await;
    let mut deleted = ids_of(&answer["data"]["successIds"]);
    deleted.sort();
    let mut expected = vec![
        ids[0].clone(),
        ids[1].clone(),
        ids[3].clone(),
        ids[4].clone(),
    ];
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(
        refusals(&answer),
        vec![(ids[2].clone(), PROCESSING.to_owned())]
    );
    assert!(app.gone(&url_of(first)).await);
    assert!(
        app.files_left().await.is_empty(),
        "the files went with them"
    );
    assert!(app.outbox_is_empty().await);

    // A seeded processing video moves on when advanced.
    assert_eq!(app.advance_video(&ids[2]).await["status"], 3);
    app.mp4_at(&url_of(&app.record(&me, &ids[2]).await)).await;
}

#[tokio::test]
async fn bad_seeds_are_1003_and_create_nothing() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let path = format!("/accounts/{}/seed", me.uid);
    let too_many: Vec<Value> = (0..10_001).map(|_| json!({"status": 1})).collect();
    let bad = [
        json!({}),
        json!({"videos": []}),
        json!({"videos": too_many}),
        json!({"videos": [{}]}),
        json!({"videos": [{"status": 0}]}),
        json!({"videos": [{"status": 5}]}),
        json!({"videos": [{"status": 3}, {"status": 9}]}),
        json!({"videos": [{"status": 3, "resolution": "480p"}]}),
        json!({"videos": [{"status": 3, "video_length": 7}]}),
    ];
    assert_all_refused(&app, &path, false, &bad).await;
    assert!(app.files_left().await.is_empty());
    let (_, shown) = app.admin_get(&format!("/accounts/{}", me.uid)).await;
    assert_eq!(shown["data"]["ledger_sum"], 100);
    let missing = app
        .admin("/accounts/999999/seed", json!({"videos": [{"status": 1}]}))
        .await;
    assert_eq!(code_of("unknown account", missing), 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_videos_seed_in_one_call() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let videos: Vec<Value> = (0..10_000).map(|n| json!({"status": 1 + n % 2})).collect();
    let started = Instant::now();
    let answer = app.seed(&me, Value::from(videos)).await;
    let elapsed = started.elapsed();
    let ids = seeded_ids(&answer);
    eprintln!(
        "seed: 10000 videos (statuses 1 and 2) in {:.2} s ({:.0} videos/s)",
        elapsed.as_secs_f64(),
        10_000.0 / elapsed.as_secs_f64()
    );
    assert_eq!(ids.len(), 10_000);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 10_000);
    let sample = app.records(&me, &ids[9_900..]).await;
    assert_eq!(sample.len(), 100);
    assert!(sample.iter().all(|r| r["status"] == 1 || r["status"] == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_seeds_are_cheap_to_make_in_bulk() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let videos: Vec<Value> = (0..500).map(|_| json!({"status": 3})).collect();
    let started = Instant::now();
    let answer = app.seed(&me, Value::from(videos)).await;
    let elapsed = started.elapsed();
    eprintln!(
        "seed: 500 finished videos in {:.2} s ({:.0} videos/s)",
        elapsed.as_secs_f64(),
        500.0 / elapsed.as_secs_f64()
    );
    let ids = seeded_ids(&answer);
    let records = app.records(&me, &ids).await;
    assert_eq!(records.len(), 500);
    assert!(records
        .iter()
        .all(|r| r["status"] == 3 && r["video_url"].is_string()));
    app.mp4_at(&url_of(&records[250])).await;
    assert_eq!(app.delete_all(&me, &ids).await.len(), 500);
    assert!(app.files_left().await.is_empty());
}
