//! resultsByIds: request order, foreign and unknown ids omitted, per-status shapes.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn results_keep_request_order_and_omit_what_is_not_the_callers() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let other = app.create_account(1000).await;
    let ids = app.create_videos(&me, 3).await;
    let theirs = app.create_video(&other).await;
    let request = format!(
        "{}, {} ,{theirs},junk,,{},{}",
        ids[2], ids[0], ids[1], ids[2]
    );
    let answer = app.results(&me, &request).await;
    assert_eq!(answer["code"], 1000);
    let listed: Vec<&str> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![ids[2].as_str(), ids[0].as_str(), ids[1].as_str()]
    );
}

#[tokio::test]
async fn each_status_has_its_documented_shape() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let ids = app.create_videos(&me, 3).await;
    app.drain_jobs().await;
    let queued = app.create_video(&me).await;
    app.set_status(&ids[1], 2).await;
    let (_, failed) = app
        .admin(
            &format!("/videos/{}/status", ids[2]),
            json!({"status": 4, "reason": "image could not be decoded"}),
        )
        .await;
    assert_eq!(failed["code"], 1000);

    let answer = app
        .results(&me, &format!("{queued},{},{},{}", ids[1], ids[0], ids[2]))
        .await;
    let items = answer["data"]["result"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let (q, p, c, f) = (&items[0], &items[1], &items[2], &items[3]);
    assert_eq!(q["status"], 1);
    assert!(q.get("video_url").is_none(), "no video_url until status 3");
    assert_eq!(p["status"], 2);
    assert!(p.get("video_url").is_none());
    assert_eq!(c["status"], 3);
    assert!(c["video_url"].as_str().unwrap().starts_with(&app.base));
    assert_eq!(c["sub_type"], 1501);
    assert_eq!(c["video_duration"], 5.0);
    assert_eq!(f["status"], 4);
    assert_eq!(f["error_reason"], "image could not be decoded");
    assert_eq!(f["deduction_credit"], 0, "failed videos are refunded");
    assert!(f.get("video_url").is_none());
    let redactions = |v: &serde_json::Value| {
        let mut v = v.clone();
        for k in ["_id", "create_time", "update_time", "uid", "team_id"] {
            v[k] = json!(format!("[{k}]"));
        }
        if v.get("video_url").is_some() {
            v["video_url"] = json!("[url]");
        }
        v
    };
    insta::assert_json_snapshot!("result_queued", redactions(q));
    insta::assert_json_snapshot!("result_completed", redactions(c));
    insta::assert_json_snapshot!("result_failed", redactions(f));
    assert_eq!(app.balance(&me).await, 1000 - 4 * 20 + 20);
}

#[tokio::test]
async fn results_validate_ids_like_delete() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    for body in [
        json!({}),
        json!({"_ids": ""}),
        json!({"_ids": ["a"]}),
        json!({"_ids": 5}),
    ] {
        let answer = app
            .post_as(
                &me.key,
                "/api/open/v4/image2Video/resultsByIds",
                body.clone(),
            )
            .await;
        assert_eq!(answer["code"], 1003, "{body}");
    }
    let many: Vec<String> = (0..101).map(|i| format!("{i:024x}")).collect();
    assert_eq!(app.results(&me, &many.join(",")).await["code"], 1003);
    assert_eq!(
        app.results(&me, "6650aa11bb22cc33dd44ee55").await["data"]["result"],
        json!([])
    );
}

/// The `file_name` clients save is derived from the prompt without its control and invisible
/// format characters (a bidi override would show `gnp.exe` as `exe.png`); the prompt itself is
/// echoed as sent. NUL cannot be stored on PostgreSQL, so it is refused on every backend.
#[tokio::test]
async fn file_names_leave_out_control_and_bidi_characters() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let create = "/api/open/v4/image2Video/createBySourcePrompt";
    let prompt = "zoom in \u{202e}gnp.exe\u{7}\u{1b}[2J\u{200b}\u{2066}\u{feff}!";
    let mut body = video_body();
    body["prompt"] = json!(prompt);
    let created = app.post_as(&me.key, create, body.clone()).await;
    assert_eq!(created["code"], 1000, "{created}");
    let expected = "Image2Video_zoom in gnp.exe[2J!.mp4";
    assert_eq!(created["data"]["file_name"], expected);
    assert_eq!(created["data"]["prompt"], prompt);
    let id = created["data"]["_id"].as_str().unwrap();
    let found = app.results(&me, id).await;
    assert_eq!(found["data"]["result"][0]["file_name"], expected);
    assert_eq!(found["data"]["result"][0]["prompt"], prompt);

    body["prompt"] = json!("zoom in \u{202e}gnp.exe\u{0}");
    let refused = app.post_as(&me.key, create, body).await;
    assert_eq!(refused["code"], 1003, "{refused}");
    assert_eq!(
        refused["msg"],
        "prompt must not contain NUL (U+0000) characters"
    );
    assert_eq!(app.balance(&me).await, 1000 - 20);
}

/// RFC 9110: a last-byte-pos past the end, even one too large for 64 bits, means "to the end";
/// only a first-byte-pos past the end is unsatisfiable.
#[tokio::test]
async fn ranges_past_the_end_are_clamped_to_the_file() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let id = app.create_video(&me).await;
    app.drain_jobs().await;
    let found = app.results(&me, &id).await;
    let url = found["data"]["result"][0]["video_url"].as_str().unwrap();
    let get = |range: Option<&str>| {
        let mut req = app.client.get(url);
        if let Some(range) = range {
            req = req.header("range", range);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let content_range = resp
                .headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, content_range, resp.bytes().await.unwrap())
        }
    };
    let (status, _, whole) = get(None).await;
    assert_eq!(status, StatusCode::OK);
    let size = whole.len();
    let huge = "99999999999999999999999";
    for range in [
        format!("bytes=0-{huge}"),
        format!("bytes=0-{}", u64::MAX),
        format!("bytes=-{huge}"),
    ] {
        let (status, content_range, bytes) = get(Some(&range)).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            content_range.as_deref(),
            Some(format!("bytes 0-{}/{size}", size - 1).as_str()),
            "{range}"
        );
        assert_eq!(bytes, whole, "{range}");
    }
    let (status, content_range, bytes) = get(Some(&format!("bytes=4-{huge}"))).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        content_range.as_deref(),
        Some(format!("bytes 4-{}/{size}", size - 1).as_str())
    );
    assert_eq!(bytes, whole.slice(4..));
    let (status, _, bytes) = get(Some("bytes=-5")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(bytes, whole.slice(size - 5..));
    for range in [format!("bytes={huge}-"), format!("bytes={size}-{huge}")] {
        let (status, content_range, _) = get(Some(&range)).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(
            content_range.as_deref(),
            Some(format!("bytes */{size}").as_str())
        );
    }
}
