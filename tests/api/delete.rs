//! delbyids, the heart of i2v: every rule of DESIGN §4.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const DELETE: &str = "/api/open/v4/image2Video/delbyids";

#[tokio::test]
async fn a_mixed_request_answers_every_id_once_in_request_order() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let other = app.create_account(1000).await;
    let ids = app.create_videos(&me, 4).await; // queued, completed, failed, processing
    app.drain_jobs().await; // everything queued so far completes
    let queued = app.create_video(&me).await;
    let failed = &ids[2];
    app.set_status(failed, 4).await;
    let processing = &ids[3];
    app.set_status(processing, 2).await;
    let completed = &ids[1];
    let foreign = app.create_video(&other).await;
    let unknown = "6650aa11bb22cc33dd44ee55";

    let request = format!(
        " {queued} ,{completed},,{failed}, {processing},{foreign},{unknown},not-an-id,{queued},{completed} , "
    );
    let answer = app.delete(&me, &request).await;
    assert_eq!(answer["code"], 1000);
    assert_eq!(answer["msg"], "Delete successfully");
    assert_eq!(
        ids_of(&answer["data"]["successIds"]),
        vec![queued.clone(), completed.clone(), failed.clone()]
    );
    assert_eq!(
        refusals(&answer),
        vec![
            (processing.clone(), PROCESSING.to_owned()),
            (foreign.clone(), NOT_FOUND.to_owned()),
            (unknown.to_owned(), NOT_FOUND.to_owned()),
            ("not-an-id".to_owned(), NOT_FOUND.to_owned()),
        ]
    );
    insta::assert_json_snapshot!("delete_mixed", answer, {
        ".data.successIds[]" => "[id]", ".data.noPermissionItems[]._id" => "[id]",
    });

    // The survivors survive: the processing video and the other account's video.
    assert_eq!(app.status_of(&me, processing).await, Some(2));
    assert_eq!(app.status_of(&other, &foreign).await, Some(1));
    // The deleted are gone from results.
    let gone = app
        .results(&me, &format!("{queued},{completed},{failed}"))
        .await;
    assert_eq!(gone["data"]["result"], json!([]));
}

#[tokio::test]
async fn another_accounts_id_reads_exactly_like_an_unknown_one() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let other = app.create_account(1000).await;
    let theirs = app.create_video(&other).await;
    let processing = app.create_video(&other).await;
    app.set_status(&processing, 2).await;
    let never_existed = "6650aa11bb22cc33dd44ee55";

    let probe = |id: &str| {
        let id = id.to_owned();
        let app = &app;
        let me = &me;
        async move {
            let answer = app.delete(me, &id).await;
            // Replace the id so that the rest of the answer can be compared byte for byte.
            answer.to_string().replace(&id, "ID")
        }
    };
    let unknown = probe(never_existed).await;
    assert_eq!(probe(&theirs).await, unknown);
    assert_eq!(
        probe(&processing).await,
        unknown,
        "another account's processing video is not revealed"
    );
    assert_eq!(app.status_of(&other, &theirs).await, Some(1));
    assert_eq!(app.status_of(&other, &processing).await, Some(2));
}

#[tokio::test]
async fn processing_is_refused_and_allowed_once_it_ends() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let id = app.create_video(&me).await;
    app.set_status(&id, 2).await;
    let refused = app.delete(&me, &id).await;
    assert_eq!(refused["data"]["successIds"], json!([]));
    assert_eq!(
        refusals(&refused),
        vec![(id.clone(), PROCESSING.to_owned())]
    );

    app.set_status(&id, 4).await;
    let deleted = app.delete(&me, &id).await;
    assert_eq!(ids_of(&deleted["data"]["successIds"]), vec![id.clone()]);
    let again = app.delete(&me, &id).await;
    assert_eq!(
        refusals(&again),
        vec![(id, NOT_FOUND.to_owned())],
        "already deleted reads as not found"
    );
}

#[tokio::test]
async fn a_deleted_queued_video_never_starts_rendering() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let ids = app.create_videos(&me, 5).await;
    let answer = app.delete(&me, &ids[1..4].join(",")).await;
    assert_eq!(ids_of(&answer["data"]["successIds"]).len(), 3);
    let rendered = app.drain_jobs().await;
    assert_eq!(rendered.len(), 2, "only the two survivors are rendered");
    for id in &ids[1..4] {
        assert!(!rendered.iter().any(|k| k.contains(id.as_str())));
    }
    assert_eq!(app.status_of(&me, &ids[0]).await, Some(3));
    assert_eq!(app.status_of(&me, &ids[4]).await, Some(3));
}

#[tokio::test]
async fn deleting_a_finished_video_removes_its_file_and_its_url() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let keep = app.create_video(&me).await;
    let id = app.create_video(&me).await;
    app.drain_jobs().await;
    let found = app.results(&me, &id).await;
    let url = found["data"]["result"][0]["video_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    assert_eq!(app.blob_keys().await.len(), 2);

    let answer = app.delete(&me, &id).await;
    assert_eq!(ids_of(&answer["data"]["successIds"]), vec![id.clone()]);
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let left = app.blob_keys().await;
    assert_eq!(left.len(), 1);
    assert!(
        left[0].contains(&keep),
        "only the survivor's file is left: {left:?}"
    );
    assert!(app.outbox_is_empty().await);
}

#[tokio::test]
async fn concurrent_deletes_of_one_id_succeed_exactly_once() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let id = app.create_video(&me).await;
    app.drain_jobs().await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = app.client.clone();
        let url = app.url(DELETE);
        let key = me.key.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .header("x-api-key", key)
                .json(&json!({"_ids": id}))
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        }));
    }
    let mut successes = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer["code"], 1000);
        let won = answer["data"]["successIds"].as_array().unwrap().len();
        let lost = answer["data"]["noPermissionItems"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(won + lost, 1, "{answer}");
        if won == 1 {
            successes += 1;
        } else {
            assert_eq!(refusals(&answer)[0].1, NOT_FOUND);
        }
    }
    assert_eq!(successes, 1);
    assert!(app.blob_keys().await.is_empty());
}

/// Concurrent deletes share store transactions (SQLite's group commit); every id is still
/// reported deleted by exactly one request, and everything asked for is gone.
#[tokio::test]
async fn concurrent_overlapping_deletes_report_each_id_once() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let ids = app.create_videos(&me, 20).await;
    let mut tasks = Vec::new();
    for start in 0..16 {
        let client = app.client.clone();
        let url = app.url(DELETE);
        let key = me.key.clone();
        let window = ids[start..start + 5].join(",");
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .header("x-api-key", key)
                .json(&json!({ "_ids": window }))
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        }));
    }
    let mut deleted = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer["code"], 1000, "{answer}");
        deleted.extend(ids_of(&answer["data"]["successIds"]));
        for (_, msg) in refusals(&answer) {
            assert_eq!(msg, NOT_FOUND);
        }
    }
    deleted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(deleted, expected, "each id deleted exactly once");
    let left = app.results(&me, &ids.join(",")).await;
    assert_eq!(left["data"]["result"], json!([]));
}

#[tokio::test]
async fn a_restart_keeps_deletions_and_survivors() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let ids = app.create_videos(&me, 4).await;
    app.drain_jobs().await;
    app.delete(&me, &format!("{},{}", ids[0], ids[2])).await;
    let app = app.restart().await;
    let after = app.results(&me, &ids.join(",")).await;
    let listed: Vec<&str> = after["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![ids[1].as_str(), ids[3].as_str()]);
    assert_eq!(app.blob_keys().await.len(), 2);
    let again = app.delete(&me, &ids[0]).await;
    assert_eq!(
        refusals(&again),
        vec![(ids[0].clone(), NOT_FOUND.to_owned())]
    );
}

#[tokio::test]
async fn a_crash_between_commit_and_file_removal_is_healed_at_start_up() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let id = app.create_video(&me).await;
    app.drain_jobs().await;
    // Commit the delete without the post-commit file removal, as if the process died there.
    let oid = i2v::domain::ObjectId::parse(&id).unwrap();
    let outcome = app
        .app
        .store
        .delete_videos(me.uid, &[oid], i2v::clock::now_ms())
        .await
        .unwrap();
    assert_eq!(outcome.deleted, vec![oid]);
    assert_eq!(
        app.blob_keys().await.len(),
        1,
        "the file outlives the row until the sweep"
    );

    let app = app.restart().await;
    let mut swept = false;
    for _ in 0..100 {
        if app.blob_keys().await.is_empty() {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(swept, "the start-up sweep removes the orphaned file");
    assert!(app.outbox_is_empty().await);
}

#[tokio::test]
async fn deletion_never_refunds_and_keeps_the_ledger_balanced() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    assert_eq!(app.balance(&me).await, 80);
    app.delete(&me, &id).await;
    assert_eq!(app.balance(&me).await, 80);
    let (_, account) = app.admin_get(&format!("/accounts/{}", me.uid)).await;
    assert_eq!(account["data"]["ledger_sum"], 80);
}

#[tokio::test]
async fn the_id_limit_is_enforced_and_configurable() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let hundred: Vec<String> = (0..100).map(|i| format!("{i:024x}")).collect();
    let ok = app.delete(&me, &hundred.join(",")).await;
    assert_eq!(ok["code"], 1000);
    assert_eq!(refusals(&ok).len(), 100);
    let over = app
        .delete(&me, &format!("{},{:024x}", hundred.join(","), 100))
        .await;
    assert_eq!(over["code"], 1003);
    assert!(over["msg"].as_str().unwrap().contains("at most 100"));
    assert!(over.get("data").is_none());

    let small = spawn_with(|c| c.limits.ids_per_call = 3).await;
    let me = small.create_account(0).await;
    assert_eq!(small.delete(&me, "a,b,c").await["code"], 1000);
    assert_eq!(small.delete(&me, "a,b,c,d").await["code"], 1003);
    assert_eq!(
        small.delete(&me, "a,b,c,a,b").await["code"],
        1000,
        "duplicates count once"
    );
}

#[tokio::test]
async fn malformed_ids_parameters_are_1003_without_data() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    for body in [
        json!({}),
        json!({"_ids": null}),
        json!({"_ids": ""}),
        json!({"_ids": " , ,, "}),
        json!({"_ids": [id]}),
        json!({"_ids": 123}),
        json!({"_ids": {"id": id}}),
        json!({"ids": id}),
    ] {
        let answer = app.post_as(&me.key, DELETE, body.clone()).await;
        assert_eq!(answer["code"], 1003, "{body}: {answer}");
        assert!(answer.get("data").is_none());
    }
    assert_eq!(
        app.status_of(&me, &id).await,
        Some(1),
        "nothing was deleted"
    );
}
