//! The request journal: exactly the requests sent, newest first, no secret in it, filtered,
//! bounded per account, cleared, kept across a restart, off when configured so.

use serde_json::json;

use super::*;

#[tokio::test]
async fn the_journal_holds_exactly_the_requests_sent_and_no_secret() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;

    let (_, issued) = app.get_token(&me).await;
    let token = issued["token"].as_str().expect("a token").to_owned();
    let id = app.create_video(&me).await;
    let (status, results) = app
        .post_raw(
            &format!("{RESULTS}?trace=1&token={token}"),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
            ],
            json!({"_ids": id}).to_string(),
        )
        .await;
    assert_eq!((status, &results["code"]), (StatusCode::OK, &json!(1000)));
    let deleted = app.delete(&me, &format!("{id},nope")).await;
    app.create_video(&other).await;
    let unknown = app.get_as("not-a-key-0123456789", QUOTA).await;

    let mine = app.journal(&format!("uid={}", me.uid)).await;
    let paths: Vec<&str> = mine.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            DELETE,
            RESULTS,
            "/api/open/v4/image2Video/createBySourcePrompt",
            TOKEN
        ],
        "newest first, only mine"
    );
    let ids: Vec<i64> = mine.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let delete = &mine[0];
    assert_eq!(delete["method"], "POST");
    assert_eq!(delete["uid"], me.uid);
    assert_eq!(
        delete["request_body"],
        json!({"_ids": format!("{id},nope")})
    );
    assert_eq!(
        (delete["status"].as_i64(), delete["code"].as_i64()),
        (Some(200), Some(1000))
    );
    assert_eq!(delete["response_body"], deleted, "the answer as sent");
    assert_eq!(delete["fault"], Value::Null);
    assert!(delete["latency_ms"].as_i64().unwrap() >= 0);
    let now = i2v::clock::now_ms();
    let at = delete["at_ms"].as_i64().unwrap();
    assert!(
        at <= now && at > now - 60_000,
        "at_ms {at} is a recent time"
    );
    assert_eq!(mine[1]["query"], "trace=1&token=[redacted]");
    assert_eq!(mine[1]["response_body"], results);
    assert_eq!(
        mine[3]["request_body"],
        json!({"clientId": me.client_id, "clientSecret": "[redacted]"})
    );
    assert_eq!(mine[3]["response_body"]["token"], "[redacted]");

    let everything = app.journal("limit=1000").await;
    let stranger = &everything[0];
    assert_eq!(stranger["path"], QUOTA);
    assert_eq!(stranger["uid"], Value::Null, "unknown credentials");
    assert_eq!(stranger["code"], unknown["code"]);
    assert_eq!(everything.len(), 6, "every request, every caller");
    let text = serde_json::to_string(&everything).unwrap();
    for secret in [&me.key, &other.key, &token] {
        assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
    }
}

#[tokio::test]
async fn filters_narrow_and_bad_ones_are_refused() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    app.results(&me, &id).await;
    app.results(&me, "not-an-id").await;
    app.delete(&me, &id).await;

    let uid = me.uid;
    let results = app.journal(&format!("uid={uid}&path={RESULTS}")).await;
    assert_eq!(results.len(), 2);
    let ok = app.journal(&format!("uid={uid}&code=1000")).await;
    assert!(ok.iter().all(|e| e["code"] == 1000), "{ok:?}");
    let refused = app.journal(&format!("uid={uid}&code=1003")).await;
    assert!(refused.iter().all(|e| e["code"] == 1003));
    assert_eq!(ok.len() + refused.len(), 4);
    let all = app.journal(&format!("uid={uid}")).await;
    let oldest = all.last().unwrap()["id"].as_i64().unwrap();
    let newer = app.journal(&format!("uid={uid}&since_id={oldest}")).await;
    assert_eq!(newer.len(), 3);
    let one = app.journal(&format!("uid={uid}&limit=1")).await;
    assert_eq!(one[0]["path"], DELETE);

    for query in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "uid=abc",
        "code=1.5",
        "since_id=-x",
    ] {
        let (status, body) = app.admin_get(&format!("/requests?{query}")).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (StatusCode::OK, Some(1003)),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn each_account_keeps_its_newest_entries_only() {
    let app = spawn_with(|c| c.journal.max_per_account = 5).await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    app.results(&other, "x").await;
    for n in 0..8 {
        app.results(&me, &format!("n{n}")).await;
    }
    let mine = app.journal(&format!("uid={}", me.uid)).await;
    let asked: Vec<&str> = mine
        .iter()
        .map(|e| e["request_body"]["_ids"].as_str().unwrap())
        .collect();
    assert_eq!(asked, ["n7", "n6", "n5", "n4", "n3"]);
    assert_eq!(app.journal(&format!("uid={}", other.uid)).await.len(), 1);
}

#[tokio::test]
async fn clearing_one_account_leaves_the_others_and_a_restart_keeps_the_rest() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    app.results(&me, "a").await;
    app.results(&other, "b").await;
    app.results(&other, "c").await;

    let path = format!("/requests?uid={}", me.uid);
    let cleared = data_of(&path, app.admin_delete(&path).await);
    assert_eq!(cleared["removed"], 1);
    assert!(app.journal(&format!("uid={}", me.uid)).await.is_empty());

    let app = app.restart().await;
    let kept = app.journal(&format!("uid={}", other.uid)).await;
    assert_eq!(kept.len(), 2, "written to the store: {kept:?}");
    let cleared = data_of("/requests", app.admin_delete("/requests").await);
    assert_eq!(cleared["removed"], 2);
    assert!(app.journal("").await.is_empty());
}

#[tokio::test]
async fn times_are_on_the_accounts_clock_and_a_reset_clears_its_journal() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    app.advance_clock(&me, json!({"ms": 86_400_000})).await;
    app.results(&me, "x").await;
    let entry = &app.journal(&format!("uid={}", me.uid)).await[0];
    let ahead = entry["at_ms"].as_i64().unwrap() - i2v::clock::now_ms();
    assert!(ahead > 86_000_000, "a day ahead: {ahead}");

    app.reset(&me).await;
    assert!(app.journal(&format!("uid={}", me.uid)).await.is_empty());
}

#[tokio::test]
async fn a_disabled_journal_records_nothing() {
    let app = spawn_with(|c| c.journal.enabled = false).await;
    let me = app.create_account(100).await;
    app.results(&me, "x").await;
    app.create_video(&me).await;
    assert!(app.journal("").await.is_empty());
}
