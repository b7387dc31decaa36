//! createBySourcePrompt and its batch variant: validation, pricing, persistence, shapes.

use serde_json::{json, Value};

use crate::helpers::*;

const SINGLE: &str = "/api/open/v4/image2Video/createBySourcePrompt";
const BATCH: &str = "/api/open/v4/image2Video/createBySourcePrompt/batch";

async fn ledger_sum(app: &TestApp, account: &Account) -> i64 {
    let (_, body) = app.admin_get(&format!("/accounts/{}", account.uid)).await;
    body["data"]["ledger_sum"].as_i64().unwrap()
}

#[tokio::test]
async fn a_single_create_is_charged_persisted_and_shaped_like_akools() {
    let app = spawn_app().await;
    let account = app.create_account(100).await;
    let mut body = video_body();
    body["resolution"] = json!("1080p");
    body["video_length"] = json!("10");
    body["audio_type"] = json!("2");
    body["audio_url"] = json!("https://example.com/in/waves.mp3");
    body["effect_code"] = json!("squish_89244231312");
    body["webhookurl"] = json!("https://hooks.example.com/akool");
    let created = app.post_as(&account.key, SINGLE, body).await;
    assert_eq!(created["code"], 1000, "{created}");
    let data = &created["data"];
    assert_eq!(data["status"], 1);
    assert_eq!(data["deduction_credit"], 50);
    assert_eq!(data["uid"], account.uid);
    assert_eq!(data["team_id"], account.team_id.as_str());
    assert_eq!(data["effect_name"], "Squish");
    assert_eq!(data["webhookUrl"], "https://hooks.example.com/akool");
    assert_eq!(data["audio_type"], 2);
    assert!(data.get("video_url").is_none());
    let id = data["_id"].as_str().unwrap();
    assert!(i2v::domain::ObjectId::parse(id).is_some());
    insta::assert_json_snapshot!("create_single", created, {
        ".data._id" => "[id]", ".data.create_time" => "[ms]", ".data.uid" => "[uid]", ".data.team_id" => "[team]",
    });

    assert_eq!(app.balance(&account).await, 50);
    assert_eq!(ledger_sum(&app, &account).await, 50);
    let results = app.results(&account, id).await;
    assert_eq!(results["data"]["result"][0]["status"], 1);
    assert_eq!(results["data"]["result"][0]["prompt"], data["prompt"]);
}

#[tokio::test]
async fn a_batch_creates_count_videos_with_consecutive_ids_and_one_batch_id() {
    let app = spawn_app().await;
    let account = app.create_account(1000).await;
    let mut body = video_body();
    body["model_name"] = json!("AkoolImage2VideoFastV1");
    body["count"] = json!(3);
    body["audio_type"] = json!("3");
    body["audio_url"] = json!("");
    body["is_premium_model"] = json!(false);
    let created = app.post_as(&account.key, BATCH, body).await;
    assert_eq!(created["code"], 1000, "{created}");
    let items = created["data"]["successList"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(created["data"]["errorList"], json!([]));
    let batch_id = items[0]["batch_id"].as_str().unwrap();
    assert_eq!(
        batch_id,
        format!("{}_{}", items[0]["create_time"], account.uid)
    );
    for item in items {
        assert_eq!(item["batch_id"], batch_id);
        assert_eq!(item["batch_count"], 3);
        assert_eq!(item["deduction_credit"], 20);
        assert_eq!(item["model_name"], "AkoolImage2VideoFastV1");
    }
    let ids: Vec<&str> = items.iter().map(|i| i["_id"].as_str().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "consecutive, increasing ids: {ids:?}"
    );
    insta::assert_json_snapshot!("create_batch_item", items[0], {
        "._id" => "[id]", ".create_time" => "[ms]", ".uid" => "[uid]", ".team_id" => "[team]", ".batch_id" => "[batch]",
    });
    assert_eq!(app.balance(&account).await, 940);
    assert_eq!(ledger_sum(&app, &account).await, 940);
    let listed = app.results(&account, &ids.join(",")).await;
    assert_eq!(listed["data"]["result"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn insufficient_credits_create_nothing() {
    let app = spawn_app().await;
    let account = app.create_account(50).await;
    let mut body = video_body();
    body["count"] = json!(3); // 60 credits
    let answer = app.post_as(&account.key, BATCH, body).await;
    assert_eq!(answer["code"], 1104, "{answer}");
    assert!(answer.get("data").is_none());
    assert_eq!(app.balance(&account).await, 50);
    let single = app.post_as(&account.key, SINGLE, video_body()).await;
    assert_eq!(single["code"], 1000);
    let mut pricey = video_body();
    pricey["resolution"] = json!("4k");
    pricey["video_length"] = json!(10); // 60 credits
    let refused = app.post_as(&account.key, SINGLE, pricey).await;
    assert_eq!(refused["code"], 1104);
    assert_eq!(app.balance(&account).await, 30);
    assert_eq!(ledger_sum(&app, &account).await, 30);
}

#[tokio::test]
async fn invalid_fields_get_1003_naming_the_field() {
    let app = spawn_app().await;
    let account = app.create_account(1000).await;
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (SINGLE, "image_url", json!(null), "image_url"),
        (SINGLE, "image_url", json!("not a url"), "image_url"),
        (SINGLE, "image_url", json!(42), "image_url"),
        (SINGLE, "prompt", json!(""), "prompt"),
        (SINGLE, "prompt", json!("x".repeat(5001)), "prompt"),
        (
            SINGLE,
            "negative_prompt",
            json!("x".repeat(1001)),
            "negative_prompt",
        ),
        (SINGLE, "resolution", json!("480p"), "resolution"),
        (SINGLE, "resolution", json!(null), "resolution"),
        (SINGLE, "audio_type", json!(null), "audio_type"),
        (SINGLE, "audio_type", json!("4"), "audio_type"),
        (SINGLE, "audio_type", json!(2), "audio_url"),
        (SINGLE, "video_length", json!(15), "video_length"),
        (SINGLE, "video_length", json!(5.5), "video_length"),
        (SINGLE, "video_length", json!([5]), "video_length"),
        (SINGLE, "effect_code", json!("cakeify_000"), "effect_code"),
        (SINGLE, "webhookurl", json!("ftp://x"), "webhookurl"),
        (
            SINGLE,
            "is_premium_model",
            json!("maybe"),
            "is_premium_model",
        ),
        (BATCH, "model_name", json!("no-such-model"), "model_name"),
        (BATCH, "count", json!(0), "count"),
        (BATCH, "count", json!(11), "count"),
        (BATCH, "count", json!("many"), "count"),
        (
            BATCH,
            "multi_prompt",
            json!([{"duration": 5, "prompt": "x"}]),
            "multi_prompt",
        ),
        (
            BATCH,
            "last_image_url",
            json!("https://example.com/last.png"),
            "last_image_url",
        ),
    ];
    for (path, field, value, named) in cases {
        let mut body = video_body();
        body[field] = value.clone();
        let answer = app.post_as(&account.key, path, body).await;
        assert_eq!(answer["code"], 1003, "{path} {field}={value}: {answer}");
        let msg = answer["msg"].as_str().unwrap();
        assert!(msg.contains(named), "{field}: {msg}");
    }
    assert_eq!(app.balance(&account).await, 1000, "nothing was charged");
}

#[tokio::test]
async fn the_last_frame_model_takes_last_image_url_and_generated_audio() {
    let app = spawn_app().await;
    let account = app.create_account(1000).await;
    let mut body = video_body();
    body["model_name"] = json!("I2VMotionV1");
    body["last_image_url"] = json!("https://example.com/last.png");
    body["generate_audio"] = json!(true);
    let answer = app.post_as(&account.key, BATCH, body).await;
    assert_eq!(answer["code"], 1000, "{answer}");
    let item = &answer["data"]["successList"][0];
    assert_eq!(item["last_image_url"], "https://example.com/last.png");
    assert_eq!(item["generate_audio"], true);
    assert_eq!(item["deduction_credit"], 24);
}
