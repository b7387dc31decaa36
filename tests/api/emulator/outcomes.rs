//! Scripted outcomes: a per-account queue that each next video (batch items in order) takes
//! from, and one video's outcome set directly; each may carry its own timing.

use serde_json::{json, Value};

use super::*;

fn results_of(queue: &Value) -> Vec<String> {
    queue
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn queued_outcomes_are_taken_in_order_fail_stuck_succeed() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    let pushed = app
        .push_outcomes(
            &me,
            json!([{"result":"fail","reason":"face not detected"},{"result":"stuck"},{"result":"succeed"}]),
        )
        .await;
    assert_eq!(
        results_of(&pushed["outcomes"]),
        ["fail", "stuck", "succeed"]
    );
    assert_eq!(pushed["outcomes"][0]["reason"], "face not detected");
    assert_eq!(
        results_of(&app.outcomes(&me).await),
        ["fail", "stuck", "succeed"]
    );

    let failed = app.create_video(&me).await;
    let record = app.record(&me, &failed).await;
    assert_eq!(record["status"], 4, "{record}");
    assert_eq!(record["error_reason"], "face not detected");
    assert!(record.get("video_url").is_none());
    assert_eq!(app.balance(&me).await, 100, "a failed video is refunded");
    assert_eq!(results_of(&app.outcomes(&me).await), ["stuck", "succeed"]);

    let stuck = app.create_video(&me).await;
    assert_eq!(app.status_of(&me, &stuck).await, Some(2));
    app.advance_clock(&me, json!({"ms": DAY_MS})).await;
    assert_eq!(app.status_of(&me, &stuck).await, Some(2), "stuck stays");
    let refused = app.delete(&me, &stuck).await;
    assert_eq!(
        refusals(&refused),
        vec![(stuck.clone(), PROCESSING.to_owned())]
    );
    assert_eq!(results_of(&app.outcomes(&me).await), ["succeed"]);

    let ok = app.create_video(&me).await;
    let record = app.record(&me, &ok).await;
    assert_eq!(record["status"], 3);
    app.mp4_at(&url_of(&record)).await;
    assert!(app.outcomes(&me).await.as_array().unwrap().is_empty());
    assert_eq!(
        app.balance(&me).await,
        60,
        "stuck and succeeded keep their charge"
    );

    // An empty queue leaves the lifecycle in charge.
    let plain = app.create_video(&me).await;
    assert_eq!(app.status_of(&me, &plain).await, Some(3));

    // Advancing a stuck video completes it.
    assert_eq!(app.advance_video(&stuck).await["status"], 3);
    app.mp4_at(&url_of(&app.record(&me, &stuck).await)).await;
}

#[tokio::test]
async fn a_fail_without_reason_gets_the_default_and_the_queue_can_be_cleared() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    app.push_outcomes(&me, json!([{"result": "fail"}])).await;
    let pushed = app
        .push_outcomes(&me, json!([{"result": "succeed"}, {"result": "stuck"}]))
        .await;
    assert_eq!(
        results_of(&pushed["outcomes"]),
        ["fail", "succeed", "stuck"],
        "POST appends"
    );
    let id = app.create_video(&me).await;
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 4);
    assert_eq!(record["error_reason"], "failed by test outcome");

    let path = format!("/accounts/{}/outcomes", me.uid);
    assert_eq!(
        data_of(&path, app.admin_delete(&path).await),
        json!({"outcomes": []})
    );
    assert_eq!(app.outcomes(&me).await, json!([]));
    let id = app.create_video(&me).await;
    assert_eq!(
        app.status_of(&me, &id).await,
        Some(3),
        "nothing left to take"
    );
}

#[tokio::test]
async fn bad_outcomes_are_1003_and_queue_nothing() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let path = format!("/accounts/{}/outcomes", me.uid);
    let bad = [
        json!({}),
        json!({"outcomes": "fail"}),
        json!({"outcomes": [{}]}),
        json!({"outcomes": [{"result": "explode"}]}),
        json!({"outcomes": [{"result": "succeed"}, {"result": "maybe"}]}),
        json!({"outcomes": [{"result": "fail", "reason": 5}]}),
        json!({"outcomes": [{"result": "succeed", "after_ms": -1}]}),
        json!({"outcomes": [{"result": "succeed", "after_polls": 0}]}),
        json!({"outcomes": [{"result": "succeed", "after_ms": 5, "after_polls": 2}]}),
    ];
    assert_all_refused(&app, &path, false, &bad).await;
    assert_eq!(app.outcomes(&me).await, json!([]));
    let missing = app
        .admin(
            "/accounts/999999/outcomes",
            json!({"outcomes": [{"result": "stuck"}]}),
        )
        .await;
    assert_eq!(code_of("unknown account", missing), 1008);
}

#[tokio::test]
async fn batch_items_take_outcomes_in_order() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    app.push_outcomes(
        &me,
        json!([{"result":"succeed"},{"result":"fail","reason":"second"},{"result":"stuck"},{"result":"fail","reason":"fourth"}]),
    )
    .await;
    let items = app.create_batch(&me, 3).await;
    let ids = ids_in(&items);
    let records = app.records(&me, &ids).await;
    assert_eq!(statuses(&records), vec![3, 4, 2]);
    assert_eq!(records[1]["error_reason"], "second");
    let left = app.outcomes(&me).await;
    assert_eq!(results_of(&left), ["fail"]);
    assert_eq!(left[0]["reason"], "fourth");
    assert_eq!(
        app.balance(&me).await,
        1000 - 40,
        "only the failed item is refunded"
    );
}

#[tokio::test]
async fn one_videos_outcome_is_set_while_it_is_not_finished() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let doomed = app.create_video(&me).await;
    let path = format!("/videos/{doomed}/outcome");
    let set = data_of(
        &path,
        app.admin_put(&path, json!({"result": "fail", "reason": "nsfw"}))
            .await,
    );
    assert_eq!(set["_id"], doomed.as_str());
    assert_eq!(set["status"], 1);
    assert_eq!(set["outcome"]["result"], "fail");
    assert_eq!(set["outcome"]["reason"], "nsfw");
    assert_eq!(app.advance_video(&doomed).await["status"], 2);
    assert_eq!(app.advance_video(&doomed).await["status"], 4);
    let record = app.record(&me, &doomed).await;
    assert_eq!(record["error_reason"], "nsfw");
    assert_eq!(app.balance(&me).await, 100);

    // Set on a processing video too.
    let fine = app.create_video(&me).await;
    app.advance_video(&fine).await;
    let path = format!("/videos/{fine}/outcome");
    let set = data_of(
        &path,
        app.admin_put(&path, json!({"result": "succeed"})).await,
    );
    assert_eq!(set["status"], 2);
    assert_eq!(app.advance_video(&fine).await["status"], 3);

    for finished in [&doomed, &fine] {
        let path = format!("/videos/{finished}/outcome");
        let answer = app.admin_put(&path, json!({"result": "stuck"})).await;
        assert_eq!(code_of(&path, answer), 1010, "finished");
    }
    let path = "/videos/6650aa11bb22cc33dd44ee55/outcome";
    assert_eq!(
        code_of(path, app.admin_put(path, json!({"result": "stuck"})).await),
        1008
    );
    let queued = app.create_video(&me).await;
    let path = format!("/videos/{queued}/outcome");
    assert_eq!(
        code_of(
            &path,
            app.admin_put(&path, json!({"result": "later"})).await
        ),
        1003
    );
}

#[tokio::test]
async fn a_queued_after_ms_overrides_the_lifecycle_with_timed_0_m() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    app.push_outcomes(&me, json!([{"result": "succeed", "after_ms": 3_600_000}]))
        .await;
    let created = app.create_from(&me, video_body()).await;
    let id = created["_id"].as_str().unwrap().to_owned();
    let t0 = created["create_time"].as_i64().unwrap();
    // processing_after_ms 0: due at once, applied at the latest by the next advance.
    app.clock_to(&me, t0, 3_000_000).await;
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    app.clock_to(&me, t0, 3_600_000).await;
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 3);
    app.mp4_at(&url_of(&record)).await;
}

/// Set an hour after the video was created: like the lifecycle's times, after_ms counts from
/// create_time (CONTRACT-12: "after_ms=M -> timed {0, M}", timed "measured from create_time"),
/// not from the PUT.
#[tokio::test]
async fn after_ms_set_on_one_video_counts_from_its_create_time() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let created = app.create_from(&me, video_body()).await;
    let id = created["_id"].as_str().unwrap().to_owned();
    let t1 = created["create_time"].as_i64().unwrap();
    app.clock_to(&me, t1, 3_600_000).await;
    assert_eq!(
        app.status_of(&me, &id).await,
        Some(1),
        "manual: still queued"
    );
    let path = format!("/videos/{id}/outcome");
    data_of(
        &path,
        app.admin_put(
            &path,
            json!({"result": "fail", "reason": "late", "after_ms": 7_200_000}),
        )
        .await,
    );
    app.clock_to(&me, t1, 6_600_000).await;
    assert_eq!(app.status_of(&me, &id).await, Some(2));
    app.clock_to(&me, t1, 7_200_000).await;
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 4);
    assert_eq!(record["error_reason"], "late");
}

#[tokio::test]
async fn after_polls_overrides_the_lifecycle_with_polls_1_n() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    app.push_outcomes(
        &me,
        json!([{"result": "succeed", "after_polls": 3}, {"result": "stuck", "after_polls": 1}]),
    )
    .await;
    let id = app.create_video(&me).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(app.status_of(&me, &id).await.unwrap());
    }
    assert_eq!(seen, vec![2, 2, 3, 3]);

    let stuck = app.create_video(&me).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(app.status_of(&me, &stuck).await.unwrap());
    }
    assert_eq!(seen, vec![2, 2, 2, 2], "stuck reaches 2 and stays");
}

#[tokio::test]
async fn a_render_mode_video_takes_its_outcome_at_once() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.push_outcomes(
        &me,
        json!([{"result": "fail", "reason": "no render needed"}]),
    )
    .await;
    let id = app.create_video(&me).await;
    let record = app.record(&me, &id).await;
    assert_eq!(record["status"], 4, "{record}");
    assert_eq!(record["error_reason"], "no render needed");
    assert!(
        app.drain_jobs().await.is_empty(),
        "nothing is left to render"
    );
}
