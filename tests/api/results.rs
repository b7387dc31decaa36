//! resultsByIds: request order, foreign and unknown ids omitted, per-status shapes.

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
