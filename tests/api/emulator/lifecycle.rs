//! GET/PUT of an account's lifecycle, its validation, and setting it when the account is made
//! (admin route and CLI).

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn the_default_is_render_and_every_mode_round_trips() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    assert_eq!(app.lifecycle(&me).await, json!({"mode": "render"}));
    for lifecycle in [
        json!({"mode": "instant"}),
        json!({"mode": "manual"}),
        json!({"mode": "timed", "processing_after_ms": 1000, "complete_after_ms": 5000}),
        json!({"mode": "timed", "processing_after_ms": 0, "complete_after_ms": 0}),
        json!({"mode": "polls", "processing_after": 2, "complete_after": 4}),
        json!({"mode": "polls", "processing_after": 1, "complete_after": 1}),
        json!({"mode": "render"}),
    ] {
        assert_eq!(
            app.set_lifecycle(&me, lifecycle.clone()).await,
            lifecycle,
            "PUT answers what is in force"
        );
        assert_eq!(app.lifecycle(&me).await, lifecycle);
    }
}

#[tokio::test]
async fn bad_lifecycles_are_1003_and_change_nothing() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let path = format!("/accounts/{}/lifecycle", me.uid);
    let bad = [
        json!({}),
        json!({"mode": "warp"}),
        json!({"mode": 3}),
        json!("instant"),
        json!({"mode": "render", "extra": 1}),
        json!({"mode": "instant", "processing_after_ms": 1}),
        json!({"mode": "manual", "complete_after": 2}),
        json!({"mode": "timed", "processing_after_ms": 5000, "complete_after_ms": 1000}),
        json!({"mode": "timed", "processing_after_ms": 1000}),
        json!({"mode": "timed", "complete_after_ms": 1000}),
        json!({"mode": "timed", "processing_after_ms": -1, "complete_after_ms": 5}),
        json!({"mode": "timed", "processing_after_ms": 1, "complete_after_ms": 5, "x": 0}),
        json!({"mode": "polls", "processing_after": 0, "complete_after": 2}),
        json!({"mode": "polls", "processing_after": 2, "complete_after": 0}),
        json!({"mode": "polls", "processing_after": 3, "complete_after": 2}),
        json!({"mode": "polls", "processing_after": 1}),
        json!({"mode": "polls", "processing_after_ms": 1, "complete_after_ms": 2}),
    ];
    assert_all_refused(&app, &path, true, &bad).await;
    assert_eq!(app.lifecycle(&me).await, json!({"mode": "manual"}));

    let missing = app
        .admin_put("/accounts/999999/lifecycle", json!({"mode": "instant"}))
        .await;
    assert_eq!(code_of("unknown account", missing), 1008);
    let (_, unknown) = app.admin_get("/accounts/999999/lifecycle").await;
    assert_eq!(unknown["code"], 1008, "{unknown}");
}

#[tokio::test]
async fn lifecycle_routes_need_the_admin_token() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let url = app.url(&format!("/_admin/v1/accounts/{}/lifecycle", me.uid));
    let get = app
        .client
        .get(&url)
        .bearer_auth("wrong-token-xxxxxxxxxxxx")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::UNAUTHORIZED);
    let put = app
        .client
        .put(&url)
        .json(&json!({"mode": "instant"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.lifecycle(&me).await, json!({"mode": "render"}));
}

#[tokio::test]
async fn the_mode_in_force_at_creation_is_the_one_a_video_follows() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    let manual = app.create_video(&me).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    let instant = app.create_video(&me).await;
    assert_eq!(app.status_of(&me, &instant).await, Some(3));
    assert_eq!(
        app.status_of(&me, &manual).await,
        Some(1),
        "switching to instant does not finish a manual video"
    );
    app.set_lifecycle(&me, json!({"mode": "manual"})).await;
    assert_eq!(app.status_of(&me, &instant).await, Some(3));
    assert_eq!(app.advance_video(&manual).await["status"], 2);
}

#[tokio::test]
async fn the_admin_create_route_takes_a_lifecycle() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin(
            "/accounts",
            json!({"name": "ci job", "credits": 100, "lifecycle": {"mode": "instant"}}),
        )
        .await;
    let d = data_of("/accounts", (status, body));
    let me = Account {
        uid: d["uid"].as_i64().unwrap(),
        team_id: d["team_id"].as_str().unwrap().into(),
        client_id: d["clientId"].as_str().unwrap().into(),
        key: d["clientSecret"].as_str().unwrap().into(),
    };
    assert_eq!(app.lifecycle(&me).await, json!({"mode": "instant"}));
    let id = app.create_video(&me).await;
    assert_eq!(app.status_of(&me, &id).await, Some(3));

    let timed = json!({"mode": "timed", "processing_after_ms": 10, "complete_after_ms": 20});
    let (status, body) = app
        .admin(
            "/accounts",
            json!({"name": "timed", "credits": 0, "lifecycle": timed}),
        )
        .await;
    let uid = data_of("/accounts", (status, body))["uid"]
        .as_i64()
        .unwrap();
    let path = format!("/accounts/{uid}/lifecycle");
    assert_eq!(data_of(&path, app.admin_get(&path).await), timed);

    for bad in [json!({"mode": "warp"}), json!("sometimes"), json!({})] {
        let answer = app
            .admin("/accounts", json!({"name": "x", "lifecycle": bad.clone()}))
            .await;
        assert_eq!(code_of("/accounts", answer), 1003, "{bad}");
    }
}

/// The CLI writes to the app's own database while it is stopped; the restarted app must see
/// the account with its lifecycle.
fn cli_create(app: &TestApp, lifecycle: &str) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_i2v"));
    command
        .args([
            "accounts",
            "create",
            "--name",
            "cli",
            "--credits",
            "40",
            "--lifecycle",
            lifecycle,
        ])
        .env("I2V_DATA_DIR", app.dir.path())
        .env_remove("I2V_ADMIN_TOKEN")
        .env_remove("I2V_LISTEN");
    match &app.backend.database_url {
        Some(url) => command.env("I2V_DATABASE_URL", url),
        None => command.env_remove("I2V_DATABASE_URL"),
    };
    match &app.backend.blob_url {
        Some(url) => command.env("I2V_BLOB_URL", url),
        None => command.env_remove("I2V_BLOB_URL"),
    };
    let out = command.output().expect("i2v runs");
    assert!(
        out.status.success(),
        "--lifecycle {lifecycle}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[tokio::test]
async fn the_cli_creates_accounts_with_a_lifecycle() {
    let mut app = spawn_app().await;
    app.stop().await;
    let json_form = cli_create(&app, r#"{"mode":"instant"}"#);
    let word_form = cli_create(&app, "manual");
    let app = app.restart().await;
    for (created, expected) in [
        (json_form, json!({"mode": "instant"})),
        (word_form, json!({"mode": "manual"})),
    ] {
        let path = format!("/accounts/{}/lifecycle", created["uid"]);
        assert_eq!(data_of(&path, app.admin_get(&path).await), expected);
    }

    let bad = Command::new(env!("CARGO_BIN_EXE_i2v"))
        .args([
            "accounts",
            "create",
            "--name",
            "cli",
            "--lifecycle",
            "sometimes",
        ])
        .env("I2V_DATA_DIR", app.dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success(), "an unknown lifecycle is refused");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("lifecycle"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test]
async fn the_servers_default_lifecycle_applies_to_accounts_that_set_none() {
    let app =
        spawn_with(|c| c.emulator.lifecycle = i2v::domain::emulation::Lifecycle::Instant).await;
    let plain = app.create_account(100).await;
    let chosen = app.create_account(100).await;
    app.set_lifecycle(&chosen, json!({"mode": "manual"})).await;
    assert_eq!(app.lifecycle(&plain).await, json!({"mode": "instant"}));
    let id = app.create_video(&plain).await;
    assert_eq!(app.status_of(&plain, &id).await, Some(3));
    let id = app.create_video(&chosen).await;
    assert_eq!(app.status_of(&chosen, &id).await, Some(1));
    app.reset(&chosen).await;
    assert_eq!(
        app.lifecycle(&chosen).await,
        json!({"mode": "instant"}),
        "reset goes back to the server's default"
    );
}
