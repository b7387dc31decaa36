//! Model list, effects list and the credit balance.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_model_list_accepts_every_spelling_of_types() {
    let app = spawn_app().await;
    let account = app.create_account(0).await;
    for query in [
        "types[]=1501",
        "types%5B%5D=1501",
        "types=1501",
        "types=1501&types=1502",
    ] {
        let body = app
            .get_as(&account.key, &format!("/api/open/v4/aigModel/list?{query}"))
            .await;
        assert_eq!(body["code"], 1000, "{query}: {body}");
        let models = body["data"].as_array().unwrap();
        assert!(
            models
                .iter()
                .any(|m| m["value"] == "AkoolImage2VideoFastV1"),
            "{query}"
        );
        let sorts: Vec<i64> = models.iter().map(|m| m["sort"].as_i64().unwrap()).collect();
        assert!(
            sorts.windows(2).all(|w| w[0] >= w[1]),
            "sorted by sort, descending"
        );
    }
    let other = app
        .get_as(&account.key, "/api/open/v4/aigModel/list?types[]=2101")
        .await;
    assert_eq!(other["data"], Value::Array(vec![]));
    for bad in ["", "?types[]=abc"] {
        let body = app
            .get_as(&account.key, &format!("/api/open/v4/aigModel/list{bad}"))
            .await;
        assert_eq!(body["code"], 1003, "{bad}");
    }
}

#[tokio::test]
async fn model_shapes_match_what_akools_demo_reads() {
    let app = spawn_app().await;
    let account = app.create_account(0).await;
    let body = app
        .get_as(&account.key, "/api/open/v4/aigModel/list?types[]=1501")
        .await;
    insta::assert_json_snapshot!("model_list", body);
}

#[tokio::test]
async fn effects_list_has_result_and_count() {
    let app = spawn_app().await;
    let account = app.create_account(0).await;
    let body = app
        .get_as(&account.key, "/api/open/v4/image2Video/effects")
        .await;
    assert_eq!(body["msg"], "Success");
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(
        body["data"]["count"].as_u64().unwrap() as usize,
        result.len()
    );
    assert!(result
        .iter()
        .any(|e| e["effect_code"] == "squish_89244231312"));
    insta::assert_json_snapshot!("effects", body);
}

#[tokio::test]
async fn unauthenticated_catalogue_calls_are_refused() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/open/v4/image2Video/effects"))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 1102);
    let resp = app
        .client
        .get(app.url("/api/open/v4/aigModel/list?types[]=1501"))
        .header("x-api-key", "nope")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 1109);
}
