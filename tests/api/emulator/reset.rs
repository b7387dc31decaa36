//! Reset: an account's videos (any status, even mid-render), files, callbacks and outcome queue
//! go; its lifecycle, clock and balance go back to the defaults; the account and its keys stay.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use tokio::sync::watch;

use super::*;
use crate::assets::{encode, test_image};
use crate::webhooks::{deliveries, open, spawn_receiver};

#[tokio::test]
async fn reset_puts_an_account_back_as_it_was_created() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    app.push_outcomes(&me, json!([{"result": "stuck"}])).await;
    let stuck = app.create_video(&me).await;
    let done = app.create_videos(&me, 2).await;
    let failed = app.create_video(&me).await;
    app.set_status(&failed, 4).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let queued = app.create_video(&me).await;
    app.push_outcomes(&me, json!([{"result": "fail"}])).await;
    app.advance_clock(&me, json!({"ms": DAY_MS})).await;
    let top_up = app
        .admin(
            &format!("/accounts/{}/credits", me.uid),
            json!({"amount": 5}),
        )
        .await;
    data_of("credits", top_up);
    let url = url_of(&app.record(&me, &done[0]).await);
    let all = [vec![stuck.clone(), failed, queued], done].concat();
    assert_eq!(app.records(&me, &all).await.len(), 5);

    let answer = app.reset(&me).await;
    assert_eq!(
        answer,
        json!({"uid": me.uid, "videos_removed": 5, "credits": 1000})
    );
    assert!(
        app.records(&me, &all).await.is_empty(),
        "no row of any status"
    );
    assert!(app.gone(&url).await);
    assert!(app.files_left().await.is_empty(), "no file");
    // Nothing may wait in the file outbox either, whatever its due time: a row stamped on the
    // account's (advanced) clock would not be swept for as long as that clock is ahead.
    let left = app
        .app
        .store
        .due_blob_deletions(i64::MAX, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "outbox rows left after reset: {left:?}");
    assert_eq!(app.balance(&me).await, 1000, "back to the initial grant");
    let (_, shown) = app.admin_get(&format!("/accounts/{}", me.uid)).await;
    assert_eq!(
        shown["data"]["ledger_sum"], 1000,
        "the reset is in the ledger"
    );
    assert_eq!(app.lifecycle(&me).await, json!({"mode": "render"}));
    assert_eq!(app.clock(&me).await["offset_ms"], 0);
    assert_eq!(app.outcomes(&me).await, json!([]));
    let refused = app.delete(&me, &stuck).await;
    assert_eq!(refusals(&refused), vec![(stuck, NOT_FOUND.to_owned())]);

    // The account and its key still work.
    let again = app.create_video(&me).await;
    assert_eq!(
        app.status_of(&me, &again).await,
        Some(1),
        "render mode again"
    );
    assert_eq!(app.balance(&me).await, 980);

    let missing = app.admin("/accounts/999999/reset", json!({})).await;
    assert_eq!(code_of("unknown account", missing), 1008);
}

#[tokio::test]
async fn the_global_reset_resets_every_account() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(200).await;
    let mut ids = Vec::new();
    for account in [&me, &other] {
        app.set_lifecycle(account, json!({"mode": "instant"})).await;
        app.advance_clock(account, json!({"ms": 1000})).await;
        ids.push(app.create_videos(account, 2).await);
    }
    let answer = data_of("/reset", app.admin("/reset", json!({})).await);
    assert_eq!(answer, json!({"accounts": 2, "videos_removed": 4}));
    for (account, (mine, credits)) in [&me, &other].into_iter().zip(ids.iter().zip([100, 200])) {
        assert!(app.records(account, mine).await.is_empty());
        assert_eq!(app.balance(account).await, credits);
        assert_eq!(app.lifecycle(account).await, json!({"mode": "render"}));
        assert_eq!(app.clock(account).await["offset_ms"], 0);
    }
    assert!(app.files_left().await.is_empty());
}

#[tokio::test]
async fn resetting_one_account_leaves_another_alone() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    for account in [&me, &other] {
        app.set_lifecycle(account, json!({"mode": "instant"})).await;
        app.advance_clock(account, json!({"ms": 1000})).await;
    }
    app.create_video(&me).await;
    let theirs = app.create_video(&other).await;
    app.push_outcomes(&other, json!([{"result": "stuck"}]))
        .await;
    app.reset(&me).await;
    let record = app.record(&other, &theirs).await;
    app.mp4_at(&url_of(&record)).await;
    assert_eq!(app.blob_keys().await.len(), 1);
    assert_eq!(app.lifecycle(&other).await, json!({"mode": "instant"}));
    assert_eq!(app.clock(&other).await["offset_ms"], 1000);
    assert_eq!(app.outcomes(&other).await.as_array().unwrap().len(), 1);
    assert_eq!(app.balance(&other).await, 80);
}

/// An image host that holds every request until released, counting those it holds.
struct Gate {
    url: String,
    waiting: Arc<AtomicUsize>,
    release: watch::Sender<bool>,
}

async fn gate() -> Gate {
    let png = encode(&test_image(800, 600), image::ImageFormat::Png);
    let waiting = Arc::new(AtomicUsize::new(0));
    let (release, opened) = watch::channel(false);
    let count = waiting.clone();
    let router = Router::new().route(
        "/held.png",
        get(move || {
            let (png, count, mut opened) = (png.clone(), count.clone(), opened.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = opened.wait_for(|open| *open).await;
                ([(header::CONTENT_TYPE, "image/png")], png).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/held.png", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Gate {
        url,
        waiting,
        release,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_during_a_render_leaves_no_row_file_or_callback() {
    require_ffmpeg();
    let gate = gate().await;
    // The receiver refuses everything, so the processing callback is still pending at reset.
    let receiver = spawn_receiver(usize::MAX).await;
    let app = spawn_with(|c| {
        c.workers = Some(1);
        c.render.preset = "ultrafast".into();
        c.jobs.poll = Duration::from_millis(50);
        c.webhooks.poll = Duration::from_millis(20);
        c.webhooks.backoff_base = Duration::from_millis(500);
        c.webhooks.backoff_max = Duration::from_millis(500);
    })
    .await;
    let me = app.create_account(1000).await;
    let mut body = video_body();
    body["image_url"] = json!(gate.url);
    body["webhookurl"] = json!(receiver.url);
    let id = app.create_from(&me, body).await["_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    while gate.waiting.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the worker never fetched the image"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.status_of(&me, &id).await, Some(2), "being rendered");
    let answer = app.reset(&me).await;
    assert_eq!(answer["videos_removed"], 1);
    assert!(
        deliveries(&app, &id).await.is_empty(),
        "no pending callback"
    );
    let hits_at_reset = receiver.hits.load(Ordering::SeqCst);

    // Let the worker go on: it renders, then must write nothing.
    gate.release.send(true).unwrap();
    // A video created afterwards by another account waits for the one render slot, so once it
    // is done the reset video's render is over.
    let other = app.create_account(100).await;
    let mut after = video_body();
    after["image_url"] = json!(gate.url);
    let sentinel = app.create_from(&other, after).await["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(240);
    let done = loop {
        let record = app.record(&other, &sentinel).await;
        if record["status"] == 3 || record["status"] == 4 {
            break record;
        }
        assert!(
            Instant::now() < deadline,
            "the sentinel never finished: {record}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], 3, "{done}");
    i2v::outbox::sweep(app.app.store.as_ref(), &app.app.blobs)
        .await
        .unwrap();
    assert_eq!(
        app.video_file_keys().await,
        vec![url_of(&done).split("/files/").nth(1).unwrap().to_owned()],
        "only the sentinel's file"
    );
    app.assert_posters_have_videos().await;
    assert!(app.records(&me, std::slice::from_ref(&id)).await.is_empty());
    assert!(deliveries(&app, &id).await.is_empty());
    // Whatever reached the receiver before the reset was the processing callback, nothing after.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(
        receiver.hits.load(Ordering::SeqCst),
        hits_at_reset,
        "no retry after reset"
    );
    for body in &got {
        assert_eq!(open(body, &me.client_id, &me.key)["status"], 2);
    }
    assert_eq!(app.balance(&me).await, 1000);
}
