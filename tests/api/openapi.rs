//! `/openapi.json` tells the truth: it lists exactly what the router serves, its security
//! declarations hold, and real answers of every operation, success and error, match the
//! documented status codes, content types and schemas.
//!
//! The router and the document are built by the same `routes!` registrations, so the routes
//! cannot drift apart; these tests check the result from outside and force every documented
//! operation to be exercised here (see `Contract::assert_every_operation_exercised`).

mod contract;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use contract::Contract;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A concrete path for a template, with placeholder parameters.
fn instance_of(template: &str) -> String {
    template
        .replace("{uid}", "1")
        .replace("{id}", "1")
        .replace("{name}", "x.mp4")
}

/// Axum's fallbacks (unknown route, wrong method) answer with this shape; handlers never do.
fn is_fallback(status: StatusCode, body: &Value) -> bool {
    matches!(status.as_u16(), 404 | 405) && body.get("statusCode").is_some()
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_served() {
    let app = spawn_app().await;
    let mut c = Contract::load(&app).await;
    let ops = c.operations();
    let paths: BTreeSet<&str> = ops.iter().map(|op| op.split_once(' ').unwrap().1).collect();
    for path in paths {
        let concrete = instance_of(path);
        for method in METHODS {
            let op = format!("{method} {path}");
            let body = (method != "GET").then(|| "{}".to_owned());
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            if ops.contains(&op) {
                let answer = c.send(&app, m, path, &concrete, &[], body).await;
                assert!(
                    !is_fallback(answer.status, &answer.body),
                    "{op} is documented but not routed"
                );
            } else {
                let mut req = app.client.request(m, app.url(&concrete));
                if let Some(body) = body {
                    req = req.body(body);
                }
                let resp = req.send().await.unwrap();
                assert_eq!(
                    resp.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{op} is routed but not documented"
                );
            }
        }
    }
    let unknown = app
        .client
        .get(app.url("/api/open/v4/image2Video/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: Value = unknown.json().await.unwrap();
    let route_error = json!({"$ref": "#/components/schemas/RouteError"});
    c.validate("fallback", StatusCode::NOT_FOUND, &route_error, &body);

    // Without an admin token the admin routes are neither served nor documented.
    let plain = spawn_with(|c| c.admin_token = None).await;
    let plain_doc = Contract::load(&plain).await;
    let admin_free: BTreeSet<String> = ops
        .into_iter()
        .filter(|op| !op.contains(" /_admin/"))
        .collect();
    assert_eq!(plain_doc.operations(), admin_free);
    let resp = plain
        .client
        .post(plain.url("/_admin/v1/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn security_declarations_hold_for_every_operation() {
    let app = spawn_app().await;
    let mut c = Contract::load(&app).await;
    for op in c.operations() {
        let (method, template) = op.split_once(' ').unwrap();
        let schemes: BTreeSet<String> = c.operation(&op)["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|req| req.as_object().unwrap().keys().cloned())
            .collect();
        let path = instance_of(template);
        let body = (method == "POST").then(|| "{}".to_owned());
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let attempts: &[(&[(&str, &str)], i64)] = if schemes.contains("apiKey") {
            assert!(schemes.contains("bearerToken"), "{op}");
            &[
                (&[], 1102),
                (&[("x-api-key", "wrong")], 1109),
                (&[("authorization", "Bearer wrong")], 1101),
            ]
        } else if schemes.contains("adminToken") {
            &[(&[], 1101), (&[("authorization", "Bearer wrong")], 1101)]
        } else {
            assert!(schemes.is_empty(), "{op}: unknown scheme in {schemes:?}");
            &[]
        };
        for (headers, code) in attempts {
            let answer = c
                .send(&app, m.clone(), template, &path, headers, body.clone())
                .await;
            assert_eq!(answer.body["code"], *code, "{op} with {headers:?}");
        }
        if schemes.is_empty() {
            let answer = c.send(&app, m, template, &path, &[], body).await;
            let code = answer.body.get("code").and_then(Value::as_i64);
            assert!(
                !matches!(code, Some(1101 | 1102 | 1109)),
                "{op} is documented as open but asked for credentials"
            );
        }
    }
}

#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let app = spawn_with(|c| c.limits.max_body_bytes = 4096).await;
    let mut c = Contract::load(&app).await;
    let me = app.create_account(1000).await;
    let key: &[(&str, &str)] = &[("x-api-key", &me.key)];
    akool_answers(&app, &mut c, &me, key).await;
    file_answers(&app, &mut c, &me).await;
    admin_answers(&app, &mut c).await;
    emulator_answers(&app, &mut c).await;
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        c.get(&app, path, &[]).await;
    }
    c.assert_every_operation_exercised();
}

async fn akool_answers(app: &TestApp, c: &mut Contract, me: &Account, key: &[(&str, &str)]) {
    let token = "/api/open/v3/getToken";
    let issued = c
        .post(
            app,
            token,
            &[],
            json!({"clientId": me.client_id, "clientSecret": me.key}),
        )
        .await;
    let bearer = format!("Bearer {}", issued.body["token"].as_str().unwrap());
    c.post(
        app,
        token,
        &[],
        json!({"clientId": me.client_id, "clientSecret": "x"}),
    )
    .await;
    c.post(app, token, &[], json!({})).await;

    let quota = "/api/open/v3/faceswap/quota/info";
    assert_eq!(
        c.get(app, quota, &[("authorization", &bearer)]).await.body["code"],
        1000
    );
    c.get(app, quota, &[]).await;

    let models = "/api/open/v4/aigModel/list";
    c.send(
        app,
        Method::GET,
        models,
        &format!("{models}?types[]=1501"),
        key,
        None,
    )
    .await;
    c.send(
        app,
        Method::GET,
        models,
        &format!("{models}?types%5B%5D=1502"),
        key,
        None,
    )
    .await;
    c.send(app, Method::GET, models, models, key, None).await;

    let listing = "/api/i2v/v1/videos";
    for query in ["?limit=2&status=1", "?limit=0"] {
        let path = format!("{listing}{query}");
        c.send(app, Method::GET, listing, &path, key, None).await;
    }

    let effects = "/api/open/v4/image2Video/effects";
    c.get(app, effects, key).await;
    c.get(app, effects, &[("authorization", "Bearer nope")])
        .await;

    let single = "/api/open/v4/image2Video/createBySourcePrompt";
    let mut with_audio = video_body();
    with_audio["audio_type"] = json!(2);
    with_audio["audio_url"] = json!("https://example.com/in/waves.mp3");
    with_audio["effect_code"] = json!("squish_89244231312");
    with_audio["webhookurl"] = json!("http://127.0.0.1:9/hook");
    let created = c.post(app, single, key, with_audio).await.body;
    let mut bad = video_body();
    bad["resolution"] = json!("8k");
    c.post(app, single, key, bad).await;
    let poor = app.create_account(0).await;
    c.post(app, single, &[("x-api-key", &poor.key)], video_body())
        .await;
    let huge = json!({"image_url": "x".repeat(10_000)}).to_string();
    let too_large = c
        .send(app, Method::POST, single, single, key, Some(huge))
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);

    let batch = "/api/open/v4/image2Video/createBySourcePrompt/batch";
    let mut batch_body = video_body();
    batch_body["model_name"] = json!("I2VMotionV1");
    batch_body["count"] = json!(2);
    batch_body["last_image_url"] = json!("https://example.com/in/end.png");
    batch_body["generate_audio"] = json!(true);
    let batched = c.post(app, batch, key, batch_body).await.body;
    c.post(app, batch, key, json!({"count": 99})).await;

    let completed = app.create_video(me).await;
    app.drain_jobs().await;
    let failed = app.create_video(me).await;
    app.admin(
        &format!("/videos/{failed}/status"),
        json!({"status": 4, "reason": "test"}),
    )
    .await;
    let processing = app.create_video(me).await;
    app.set_status(&processing, 2).await;
    let queued = app.create_video(me).await;

    let update = "/api/open/v4/image2Video/updateVideoAudio";
    let updated = c
        .post(
            app,
            update,
            key,
            json!({"pre_video_id": completed, "audio_type": 1}),
        )
        .await
        .body;
    c.post(
        app,
        update,
        key,
        json!({"pre_video_id": queued, "audio_type": 1}),
    )
    .await;
    c.post(
        app,
        update,
        key,
        json!({"pre_video_id": "6650aa11bb22cc33dd44ee55", "audio_type": 1}),
    )
    .await;

    let ids = [
        created["data"]["_id"].as_str().unwrap(),
        batched["data"]["successList"][1]["_id"].as_str().unwrap(),
        updated["data"]["_id"].as_str().unwrap(),
        &completed,
        &failed,
        &processing,
        &queued,
    ]
    .join(",");
    let results = "/api/open/v4/image2Video/resultsByIds";
    let found = c.post(app, results, key, json!({ "_ids": ids })).await;
    assert_eq!(found.body["data"]["result"].as_array().unwrap().len(), 7);
    c.post(app, results, key, json!({ "_ids": ["a", "b"] }))
        .await;

    let delete = "/api/open/v4/image2Video/delbyids";
    let mixed = format!("{ids},junk");
    let deleted = c.post(app, delete, key, json!({ "_ids": mixed })).await;
    assert_eq!(
        deleted.body["data"]["noPermissionItems"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    c.post(app, delete, key, json!({})).await;

    let banned = app.create_account(10).await;
    app.admin(&format!("/accounts/{}/ban", banned.uid), json!({}))
        .await;
    let refused = c.get(app, quota, &[("x-api-key", &banned.key)]).await;
    assert_eq!(refused.body["code"], 1200);
}

async fn file_answers(app: &TestApp, c: &mut Contract, me: &Account) {
    let id = app.create_video(me).await;
    app.drain_jobs().await;
    let result = app.results(me, &id).await;
    let url = result["data"]["result"][0]["video_url"].as_str().unwrap();
    let path = url.strip_prefix(&app.base).unwrap();
    let template = "/files/videos/{id}/{name}";
    for (range, status) in [
        (None, 200),
        (Some("bytes=0-3"), 206),
        (Some("bytes=999-"), 416),
    ] {
        let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        let answer = c
            .send(app, Method::GET, template, path, &headers, None)
            .await;
        assert_eq!(answer.status.as_u16(), status);
    }
    let missing = format!("/files/videos/{id}/other.mp4");
    c.send(app, Method::GET, template, &missing, &[], None)
        .await;
}

async fn admin_answers(app: &TestApp, c: &mut Contract) {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let admin: &[(&str, &str)] = &[("authorization", &auth)];
    let made = c
        .post(
            app,
            "/_admin/v1/accounts",
            admin,
            json!({"name": "ops", "credits": 100}),
        )
        .await;
    let uid = made.body["data"]["uid"].as_i64().unwrap();
    c.post(app, "/_admin/v1/accounts", admin, json!({})).await;
    c.post(app, "/_admin/v1/accounts", &[], json!({"name": "x"}))
        .await;

    let account = "/_admin/v1/accounts/{uid}";
    for (template, body) in [
        ("/_admin/v1/accounts/{uid}/ban", None),
        ("/_admin/v1/accounts/{uid}/unban", None),
        (
            "/_admin/v1/accounts/{uid}/credits",
            Some(json!({"amount": 5})),
        ),
        ("/_admin/v1/accounts/{uid}/rotate-secret", None),
        (account, None),
    ] {
        let method = if template == account {
            Method::GET
        } else {
            Method::POST
        };
        let body = body.unwrap_or(json!({})).to_string();
        let send_body = (method == Method::POST).then_some(body);
        for target in [uid, 987_654] {
            let path = template.replace("{uid}", &target.to_string());
            let answer = c
                .send(
                    app,
                    method.clone(),
                    template,
                    &path,
                    admin,
                    send_body.clone(),
                )
                .await;
            assert_eq!(
                answer.body["code"] == 1000,
                target == uid,
                "{template}: {}",
                answer.body
            );
        }
    }

    let me = app.create_account(100).await;
    let mut hooked = video_body();
    hooked["webhookurl"] = json!("http://127.0.0.1:9/hook");
    let created = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/createBySourcePrompt",
            hooked,
        )
        .await;
    let id = created["data"]["_id"].as_str().unwrap();
    let status = "/_admin/v1/videos/{id}/status";
    let path = status.replace("{id}", id);
    c.send(
        app,
        Method::POST,
        status,
        &path,
        admin,
        Some(json!({"status": 4}).to_string()),
    )
    .await;
    c.send(
        app,
        Method::POST,
        status,
        &path,
        admin,
        Some(json!({"status": 9}).to_string()),
    )
    .await;

    let list = "/_admin/v1/webhooks";
    let deliveries = c
        .send(
            app,
            Method::GET,
            list,
            &format!("{list}?video_id={id}"),
            admin,
            None,
        )
        .await;
    let delivery = deliveries.body["data"]["result"][0]["id"].as_i64().unwrap();
    c.send(
        app,
        Method::GET,
        list,
        &format!("{list}?limit=0"),
        admin,
        None,
    )
    .await;
    let redeliver = "/_admin/v1/webhooks/{id}/redeliver";
    for target in [delivery, 999_999] {
        let path = redeliver.replace("{id}", &target.to_string());
        c.send(
            app,
            Method::POST,
            redeliver,
            &path,
            admin,
            Some("{}".into()),
        )
        .await;
    }
}

/// Each emulator control once with a good and once with a bad request.
async fn emulator_answers(app: &TestApp, c: &mut Contract) {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let admin: &[(&str, &str)] = &[("authorization", &auth)];
    let me = app.create_account(1000).await;
    let uid = me.uid.to_string();
    let per_account: &[(Method, &str, Value, Value)] = &[
        (
            Method::PUT,
            "/_admin/v1/accounts/{uid}/lifecycle",
            json!({"mode": "manual"}),
            json!({"mode": "warp"}),
        ),
        (
            Method::GET,
            "/_admin/v1/accounts/{uid}/lifecycle",
            Value::Null,
            Value::Null,
        ),
        (
            Method::POST,
            "/_admin/v1/accounts/{uid}/outcomes",
            json!({"outcomes": [{"result": "stuck"}]}),
            json!({"outcomes": []}),
        ),
        (
            Method::GET,
            "/_admin/v1/accounts/{uid}/outcomes",
            Value::Null,
            Value::Null,
        ),
        (
            Method::DELETE,
            "/_admin/v1/accounts/{uid}/outcomes",
            Value::Null,
            Value::Null,
        ),
        (
            Method::PUT,
            "/_admin/v1/accounts/{uid}/webhook-faults",
            json!({"seed": 1, "rules": [{"status": 2, "next": 1, "effect": {"delay_ms": 10}}]}),
            json!({"rules": [{"effect": "explode"}]}),
        ),
        (
            Method::GET,
            "/_admin/v1/accounts/{uid}/webhook-faults",
            Value::Null,
            Value::Null,
        ),
        (
            Method::DELETE,
            "/_admin/v1/accounts/{uid}/webhook-faults",
            Value::Null,
            Value::Null,
        ),
        (
            Method::GET,
            "/_admin/v1/accounts/{uid}/clock",
            Value::Null,
            Value::Null,
        ),
        (
            Method::POST,
            "/_admin/v1/accounts/{uid}/clock/advance",
            json!({"ms": 1000}),
            json!({"ms": -1}),
        ),
        (
            Method::POST,
            "/_admin/v1/accounts/{uid}/seed",
            json!({"videos": [{"status": 4}]}),
            json!({"videos": [{"status": 7}]}),
        ),
        (
            Method::PUT,
            "/_admin/v1/accounts/{uid}/faults",
            json!({"seed": 1, "rules": [{"route": "effects", "next": 1, "effect": {"code": 2001}}]}),
            json!({"rules": [{"route": "effects", "effect": {"http_status": 418}}]}),
        ),
        (
            Method::GET,
            "/_admin/v1/accounts/{uid}/faults",
            Value::Null,
            Value::Null,
        ),
        (
            Method::DELETE,
            "/_admin/v1/accounts/{uid}/faults",
            Value::Null,
            Value::Null,
        ),
        (
            Method::POST,
            "/_admin/v1/accounts/{uid}/reset",
            json!({}),
            json!({}),
        ),
    ];
    for (method, template, good, bad) in per_account {
        // A bad body where the route takes one, else an account that does not exist.
        let (bad_path, bad) = if bad.is_null() || template.ends_with("/reset") {
            (template.replace("{uid}", "987654"), good)
        } else {
            (template.replace("{uid}", &uid), bad)
        };
        for (path, body) in [(template.replace("{uid}", &uid), good), (bad_path, bad)] {
            let body = (!body.is_null()).then(|| body.to_string());
            c.send(app, method.clone(), template, &path, admin, body)
                .await;
        }
    }
    let created = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/createBySourcePrompt",
            video_body(),
        )
        .await;
    let id = created["data"]["_id"].as_str().unwrap().to_owned();
    for (method, template, body) in [
        // Advanced first: it takes the queued video from the renderer (manual, now processing);
        // the outcome then applies to an unfinished video.
        (Method::POST, "/_admin/v1/videos/{id}/advance", None),
        (
            Method::PUT,
            "/_admin/v1/videos/{id}/outcome",
            Some(json!({"result": "fail"})),
        ),
    ] {
        for target in [id.as_str(), "000000000000000000000000"] {
            let path = template.replace("{id}", target);
            let body = body.as_ref().map(Value::to_string);
            c.send(app, method.clone(), template, &path, admin, body)
                .await;
        }
    }
    let all = [
        (
            "/_admin/v1/clock/advance",
            json!({"ms": 1}),
            json!({"ms": "soon"}),
        ),
        ("/_admin/v1/reset", json!({}), json!({})),
    ];
    // Journal entries whose bodies are no JSON object: none (a GET) and text.
    app.get_as(&me.key, "/api/open/v3/faceswap/quota/info")
        .await;
    app.post_raw(
        "/api/open/v4/image2Video/resultsByIds",
        &[("x-api-key", &me.key)],
        "not json",
    )
    .await;
    let journal = "/_admin/v1/requests";
    for method in [Method::GET, Method::DELETE] {
        for query in [format!("?uid={uid}"), "?uid=someone".into()] {
            let path = format!("{journal}{query}");
            c.send(app, method.clone(), journal, &path, admin, None)
                .await;
        }
    }
    for (template, good, bad) in all {
        c.send(
            app,
            Method::POST,
            template,
            template,
            admin,
            Some(good.to_string()),
        )
        .await;
        // The reset takes no body; without the admin token it is refused.
        let headers: &[(&str, &str)] = if template.ends_with("/reset") {
            &[]
        } else {
            admin
        };
        c.send(
            app,
            Method::POST,
            template,
            template,
            headers,
            Some(bad.to_string()),
        )
        .await;
    }
}

/// Found by scripts/fuzz-api: these were axum's plain-text 400s, outside the document.
#[tokio::test]
async fn undecodable_path_segments_and_repeated_query_keys_get_documented_answers() {
    let app = spawn_app().await;
    let mut c = Contract::load(&app).await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let admin: &[(&str, &str)] = &[("authorization", &auth)];
    let show = "/_admin/v1/accounts/{uid}";
    let answer = c
        .send(
            &app,
            Method::GET,
            show,
            "/_admin/v1/accounts/%FF",
            admin,
            None,
        )
        .await;
    assert_eq!(answer.body["code"], 1003);
    let list = "/_admin/v1/webhooks";
    let repeated = format!("{list}?limit=1&limit=2");
    let answer = c
        .send(&app, Method::GET, list, &repeated, admin, None)
        .await;
    assert_eq!(answer.body["code"], 1003);
    let file = "/files/videos/{id}/{name}";
    let answer = c
        .send(
            &app,
            Method::GET,
            file,
            "/files/videos/%FF/x.mp4",
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}
