//! Bad bodies and headers, unknown routes, wrong methods, oversized bodies, health checks.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const ROUTES: [&str; 5] = [
    "/api/open/v4/image2Video/delbyids",
    "/api/open/v4/image2Video/resultsByIds",
    "/api/open/v4/image2Video/createBySourcePrompt",
    "/api/open/v4/image2Video/createBySourcePrompt/batch",
    "/api/open/v3/getToken",
];

#[tokio::test]
async fn bad_bodies_are_1003_on_every_route_never_5xx() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"   ".to_vec(),
        b"not json".to_vec(),
        b"{\"_ids\": ".to_vec(),
        b"[1,2,3]".to_vec(),
        b"\"a string\"".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        vec![0xff, 0xfe, 0x00],
        "{\"_ids\":\"\u{0}\"}".as_bytes().to_vec(),
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        b"{\"image_url\": {\"$gt\": \"\"}}".to_vec(),
    ];
    for route in ROUTES {
        for body in &bodies {
            for content_type in ["application/json", "text/plain"] {
                let (status, answer) = app
                    .post_raw(
                        route,
                        &[("x-api-key", &me.key), ("content-type", content_type)],
                        body.clone(),
                    )
                    .await;
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{route} {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(40)])
                );
                let code = answer["code"].as_i64().unwrap();
                assert!(
                    code == 1003 || (code == 1000 && route.ends_with("delbyids")),
                    "{route}: {answer}"
                );
            }
        }
    }
    assert_eq!(app.balance(&me).await, 1000);
}

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    let app = spawn_with(|c| c.limits.max_body_bytes = 4096).await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    let huge = json!({"_ids": format!("{id},{}", "x".repeat(10_000))}).to_string();
    let (status, answer) = app
        .post_raw(
            "/api/open/v4/image2Video/delbyids",
            &[("x-api-key", &me.key)],
            huge,
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["code"], 1003);
    assert_eq!(app.status_of(&me, &id).await, Some(1));
}

#[tokio::test]
async fn unknown_routes_are_404_json_and_wrong_methods_405() {
    let app = spawn_app().await;
    for path in [
        "/api/open/v4/image2Video/info",
        "/api/open/v4/image2video/create",
        "/nope",
    ] {
        let resp = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["statusCode"], 404);
        assert_eq!(body["error"], "Not Found");
    }
    let resp = app
        .client
        .get(app.url("/api/open/v4/image2Video/delbyids"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["statusCode"], 405);
}

/// Headers to send and the `code` expected.
type HeaderCase<'a> = (Vec<(&'a str, &'a [u8])>, i64);

#[tokio::test]
async fn odd_headers_get_auth_codes_not_errors() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let long_key = "k".repeat(4000);
    let cases: Vec<HeaderCase> = vec![
        (vec![("x-api-key", b"\xff\xfe")], 1109),
        (vec![("authorization", b"Bearer \xff")], 1101),
        (vec![("authorization", b"Bearer a.b.c")], 1101),
        (vec![("x-api-key", long_key.as_bytes())], 1109),
        (vec![("X-API-KEY", me.key.as_bytes())], 1000),
    ];
    for (headers, code) in cases {
        let mut req = app
            .client
            .post(app.url("/api/open/v4/image2Video/resultsByIds"))
            .body("{\"_ids\":\"a\"}");
        for (k, v) in &headers {
            req = req.header(*k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
    }
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_queue() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let id = app.create_video(&me).await;
    app.delete(&me, &id).await;
    app.create_video(&me).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let delete_line = text
        .lines()
        .find(|l| {
            l.starts_with("i2v_http_requests_total{")
                && l.contains("route=\"/api/open/v4/image2Video/delbyids\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no delbyids counter in:\n{text}"));
    let count: f64 = delete_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0);
    assert!(text.contains("i2v_http_request_duration_seconds"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("i2v_videos{status=\"queued\"}")),
        "{text}"
    );
    assert!(!text.contains(&id), "ids never become labels");
}
