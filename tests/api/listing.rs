//! `GET /api/i2v/v1/videos` (i2v extension): an account's videos newest first, filtered and
//! paged, authenticated like the Akool routes, never another account's.

use serde_json::{json, Value};

use crate::helpers::*;

const LIST: &str = "/api/i2v/v1/videos";

async fn page(app: &TestApp, key: &str, query: &str) -> Value {
    app.get_as(key, &format!("{LIST}{query}")).await
}

fn ids(answer: &Value) -> Vec<String> {
    answer["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|v| v["_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn videos_list_newest_first_page_by_page_filtered_by_status_and_prompt() {
    let app = spawn_app().await;
    let me = app.create_account(10_000).await;
    let other = app.create_account(1_000).await;
    let mut made = Vec::new();
    for n in 0..7 {
        let mut body = video_body();
        body["prompt"] = json!(if n % 2 == 0 {
            format!("Sunset over 100%_bay {n}")
        } else {
            format!("a forest walk {n}")
        });
        let created = app
            .post_as(
                &me.key,
                "/api/open/v4/image2Video/createBySourcePrompt",
                body,
            )
            .await;
        made.push(created["data"]["_id"].as_str().unwrap().to_owned());
    }
    let theirs = app.create_video(&other).await;
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();

    let all = page(&app, &me.key, "").await;
    assert_eq!(all["code"], 1000, "{all}");
    assert_eq!(ids(&all), newest_first);
    assert_eq!(all["data"]["next_cursor"], Value::Null);
    assert_eq!(all["data"]["result"][0]["prompt"], "Sunset over 100%_bay 6");
    assert!(!ids(&all).contains(&theirs), "never another account's");

    // Pages of 3 walk the same order with no gap and no repeat.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let answer = page(&app, &me.key, &format!("?limit=3&cursor={cursor}")).await;
        walked.extend(ids(&answer));
        match answer["data"]["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, newest_first);

    // Search ignores ASCII case and takes % and _ literally.
    let sunsets = page(&app, &me.key, "?q=SUNSET%20OVER%20100%25_").await;
    assert_eq!(ids(&sunsets).len(), 4, "{sunsets}");
    let none = page(&app, &me.key, "?q=100__").await;
    assert!(ids(&none).is_empty(), "{none}");

    // Status filter.
    app.set_status(&made[0], 4).await;
    let failed = page(&app, &me.key, "?status=4").await;
    assert_eq!(ids(&failed), [made[0].clone()]);
    let queued = page(&app, &me.key, "?status=1&q=forest").await;
    assert_eq!(ids(&queued).len(), 3);
}

#[tokio::test]
async fn bad_parameters_and_credentials_get_akool_errors() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    for (query, msg) in [
        ("?limit=0", "limit must be an integer from 1 to 100"),
        ("?limit=101", "limit must be an integer from 1 to 100"),
        ("?limit=x", "limit must be an integer, got \"x\""),
        (
            "?status=5",
            "status must be 1 (queued), 2 (processing), 3 (completed) or 4 (failed)",
        ),
        (
            "?cursor=nope",
            "cursor must be a next_cursor from a previous page",
        ),
    ] {
        let answer = page(&app, &me.key, query).await;
        assert_eq!(answer["code"], 1003, "{query}: {answer}");
        assert_eq!(answer["msg"], msg, "{query}");
    }
    let long = format!("?q={}", "a".repeat(201));
    assert_eq!(page(&app, &me.key, &long).await["code"], 1003);
    let wrong = page(&app, "not-a-key-0123456789abcdef012345", "").await;
    assert_ne!(wrong["code"], 1000, "{wrong}");
}

/// A filter that matches little costs one window of the account's videos per page, not the whole
/// account: pages may come back short, or empty, with a cursor to go on from.
#[tokio::test]
async fn filtered_pages_look_at_a_bounded_window_and_go_on_from_its_end() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let seed = |videos: Value| {
        let app = &app;
        let uid = me.uid;
        async move {
            let (status, body) = app
                .admin(
                    &format!("/accounts/{uid}/seed"),
                    json!({ "videos": videos }),
                )
                .await;
            assert_eq!(status, reqwest::StatusCode::OK, "{body}");
            ids_of(&body["data"]["ids"])
        }
    };
    // Two needles first (the oldest), then more haystack than one window holds.
    let needles = seed(json!([
        {"status": 4, "prompt": "a needle in the hay", "error_reason": "x"},
        {"status": 4, "prompt": "another Needle", "error_reason": "x"}
    ]))
    .await;
    let window = 5_000;
    let hay: Vec<Value> = (0..window + 100)
        .map(|_| json!({"status": 1, "prompt": "hay"}))
        .collect();
    seed(Value::Array(hay)).await;

    let first = page(&app, &me.key, "?q=needle&limit=10").await;
    assert_eq!(
        ids(&first),
        Vec::<String>::new(),
        "the newest window holds only hay"
    );
    let cursor = first["data"]["next_cursor"]
        .as_str()
        .expect("a window to go on from")
        .to_owned();
    let second = page(
        &app,
        &me.key,
        &format!("?q=needle&limit=10&cursor={cursor}"),
    )
    .await;
    let newest_first: Vec<String> = needles.iter().rev().cloned().collect();
    assert_eq!(ids(&second), newest_first);
    assert_eq!(
        second["data"]["next_cursor"],
        Value::Null,
        "nothing is older"
    );

    let failed = page(&app, &me.key, "?status=4&limit=10").await;
    assert!(ids(&failed).is_empty());
    let cursor = failed["data"]["next_cursor"].as_str().unwrap().to_owned();
    let failed = page(
        &app,
        &me.key,
        &format!("?status=4&limit=10&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&failed), newest_first);

    // Unfiltered pages are full pages.
    let all = page(&app, &me.key, "?limit=100").await;
    assert_eq!(ids(&all).len(), 100);
}
