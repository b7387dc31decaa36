//! The web console's server side (the browser flows are tests/browser/console_test.py): pages
//! with a strict CSP, fragments authenticated like the Akool routes, escaped, one account's.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn fragment(app: &TestApp, key: Option<&str>, path: &str) -> (StatusCode, String, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_hold_no_account_data() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers().get("set-cookie").is_none());
    let html = page.text().await.unwrap();
    assert!(html.contains("AkoolImage2VideoFastV1"), "the model choices");
    assert!(!html.contains("<script>"), "no inline script");
    let script = app
        .client
        .get(app.url("/console/assets/console.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let missing = app
        .client
        .get(app.url("/console/assets/other.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fragments_need_credentials_show_only_the_callers_videos_and_escape_them() {
    let app = spawn_app().await;
    let me = app.create_account(100).await;
    let other = app.create_account(100).await;
    let mut body = video_body();
    body["prompt"] = json!("<script>alert(1)</script> & \"quotes\"");
    let mine = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/createBySourcePrompt",
            body,
        )
        .await["data"]["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app.create_video(&other).await;

    let (status, kind, text) = fragment(&app, None, "/console/fragments/videos").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("application/json"), "{kind}");
    let refused: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(refused["code"], 1102, "{refused}");

    let (_, kind, html) = fragment(&app, Some(&me.key), "/console/fragments/videos").await;
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains(&mine) && !html.contains(&theirs), "{html}");
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "the prompt is escaped: {html}"
    );
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );

    let (_, _, html) = fragment(&app, Some(&me.key), "/console/fragments/account").await;
    assert!(
        html.contains(&format!(">{}<", me.uid)) && html.contains(">80<"),
        "{html}"
    );
    assert!(html.contains(&mine), "the charge names the video: {html}");

    let (_, _, text) = fragment(&app, Some(&me.key), "/console/fragments/videos?status=x").await;
    let bad: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bad["code"], 1003, "{bad}");
    // The same parameter rules as GET /api/i2v/v1/videos.
    let (_, _, text) = fragment(&app, Some(&me.key), "/console/fragments/videos?status=9").await;
    let bad: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bad["code"], 1003, "{bad}");
}

#[tokio::test]
async fn the_console_can_be_turned_off() {
    let app = spawn_with(|c| c.console.enabled = false).await;
    let page = app.client.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_admin_accounts_fragment_needs_the_admin_token_and_pages_by_uid() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(app.create_account(10).await.uid);
    }
    let path = "/console/fragments/admin/accounts";
    let (_, kind, text) = fragment(&app, None, path).await;
    assert!(kind.starts_with("application/json"), "{kind}: {text}");
    let key = app.create_account(0).await.key;
    let as_account = app
        .client
        .get(app.url(path))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_account.status(),
        StatusCode::UNAUTHORIZED,
        "an API key is not the admin token"
    );
    let html = app
        .client
        .get(app.url(&format!("{path}?after={}", made[0])))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains(&format!("data-uid=\"{}\"", made[0])),
        "{html}"
    );
    for uid in &made[1..] {
        assert!(html.contains(&format!("data-uid=\"{uid}\"")), "{html}");
    }
    let page = app
        .client
        .get(app.url("/console/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("login-admin"));
}

#[tokio::test]
async fn without_an_admin_token_the_admin_view_says_so() {
    let app = spawn_with(|c| c.admin_token = None).await;
    let html = app
        .client
        .get(app.url("/console/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("The admin API is off"), "{html}");
    let fragment = app
        .client
        .get(app.url("/console/fragments/admin/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), StatusCode::NOT_FOUND);
}
