//! Authentication: header precedence, error codes, tokens, bans, rotation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const QUOTA: &str = "/api/open/v3/faceswap/quota/info";

async fn quota_with(app: &TestApp, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = app.client.get(app.url(QUOTA));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

async fn token_for(app: &TestApp, account: &Account) -> String {
    let (status, body) = app
        .post_raw(
            "/api/open/v3/getToken",
            &[("content-type", "application/json")],
            json!({"clientId": account.client_id, "clientSecret": account.key}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["code"], 1000, "{body}");
    assert!(body.get("data").is_none(), "token is top-level: {body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_precedence_matrix_holds() {
    let app = spawn_app().await;
    let account = app.create_account(100).await;
    let token = token_for(&app, &account).await;
    let good_bearer = format!("Bearer {token}");
    let bad_bearer = "Bearer not.a.token".to_owned();
    // (authorization, x-api-key) -> expected code
    let cases: Vec<(Option<&str>, Option<&str>, i64)> = vec![
        (None, None, 1102),
        (Some(""), None, 1102),
        (Some("   "), None, 1102),
        (None, Some(""), 1102),
        (None, Some(&account.key), 1000),
        (None, Some("wrong-key"), 1109),
        (Some(&good_bearer), None, 1000),
        (Some(&good_bearer), Some("wrong-key"), 1000),
        (Some(&bad_bearer), Some(&account.key), 1101),
        (Some(&bad_bearer), None, 1101),
        (Some(&token), Some(&account.key), 1101), // no "Bearer " scheme
        (Some("Basic dXNlcjpwYXNz"), None, 1101),
        (Some("Bearer "), Some(&account.key), 1101),
        (Some(""), Some(&account.key), 1000), // empty Authorization counts as absent
    ];
    for (authorization, key, expected) in cases {
        let mut headers = Vec::new();
        if let Some(a) = authorization {
            headers.push(("authorization", a));
        }
        if let Some(k) = key {
            headers.push(("x-api-key", k));
        }
        let (status, body) = quota_with(&app, &headers).await;
        assert_eq!(status, StatusCode::OK, "auth errors are HTTP 200");
        assert_eq!(
            body["code"], expected,
            "{authorization:?} / {key:?}: {body}"
        );
        if expected == 1000 {
            assert_eq!(body["data"]["credit"], 100);
        } else {
            assert!(body["msg"].as_str().is_some_and(|m| !m.is_empty()));
            assert!(body.get("data").is_none());
        }
    }
}

#[tokio::test]
async fn get_token_refuses_wrong_pairs_and_missing_fields() {
    let app = spawn_app().await;
    let account = app.create_account(0).await;
    let cases = [
        (
            json!({"clientId": account.client_id, "clientSecret": "wrong"}),
            1101,
        ),
        (
            json!({"clientId": "6650aa11bb22cc33dd44ee55", "clientSecret": account.key}),
            1101,
        ),
        (json!({"clientId": account.client_id}), 1003),
        (json!({"clientSecret": account.key}), 1003),
        (json!({"clientId": 5, "clientSecret": account.key}), 1003),
    ];
    for (body, code) in cases {
        let (status, answer) = app
            .post_raw("/api/open/v3/getToken", &[], body.to_string())
            .await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (StatusCode::OK, Some(code)),
            "{body} -> {answer}"
        );
        assert!(answer.get("token").is_none());
    }
}

/// Uses the key and the token once, so that the server has them in its credential cache: a ban
/// or rotation must apply at once all the same.
async fn warm_up(app: &TestApp, key: &str, token: &str) {
    let (_, by_key) = quota_with(app, &[("x-api-key", key)]).await;
    assert_eq!(by_key["code"], 1000);
    let (_, by_token) = quota_with(app, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(by_token["code"], 1000);
}

#[tokio::test]
async fn banned_accounts_get_1200_on_keys_tokens_and_get_token() {
    let app = spawn_app().await;
    let account = app.create_account(10).await;
    let token = token_for(&app, &account).await;
    warm_up(&app, &account.key, &token).await;
    let (_, body) = app
        .admin(&format!("/accounts/{}/ban", account.uid), json!({}))
        .await;
    assert_eq!(body["code"], 1000);

    let (_, by_key) = quota_with(&app, &[("x-api-key", &account.key)]).await;
    assert_eq!(by_key["code"], 1200);
    let (_, by_token) = quota_with(&app, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(by_token["code"], 1200);
    let (_, issued) = app
        .post_raw(
            "/api/open/v3/getToken",
            &[],
            json!({"clientId": account.client_id, "clientSecret": account.key}).to_string(),
        )
        .await;
    assert_eq!(issued["code"], 1200);

    app.admin(&format!("/accounts/{}/unban", account.uid), json!({}))
        .await;
    let (_, again) = quota_with(&app, &[("x-api-key", &account.key)]).await;
    assert_eq!(again["code"], 1000);
}

#[tokio::test]
async fn rotating_the_secret_revokes_the_old_key_and_its_tokens() {
    let app = spawn_app().await;
    let account = app.create_account(10).await;
    let token = token_for(&app, &account).await;
    warm_up(&app, &account.key, &token).await;
    let (_, rotated) = app
        .admin(
            &format!("/accounts/{}/rotate-secret", account.uid),
            json!({}),
        )
        .await;
    let new_key = rotated["data"]["clientSecret"].as_str().unwrap().to_owned();
    assert_ne!(new_key, account.key);

    let (_, old_key) = quota_with(&app, &[("x-api-key", &account.key)]).await;
    assert_eq!(old_key["code"], 1109);
    let (_, old_token) = quota_with(&app, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(old_token["code"], 1101);
    let (_, new) = quota_with(&app, &[("x-api-key", &new_key)]).await;
    assert_eq!(new["code"], 1000);
    let renewed = Account {
        key: new_key,
        ..account
    };
    let new_token = token_for(&app, &renewed).await;
    let (_, by_new_token) =
        quota_with(&app, &[("authorization", &format!("Bearer {new_token}"))]).await;
    assert_eq!(by_new_token["code"], 1000);
}

#[tokio::test]
async fn expired_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let account = app.create_account(10).await;
    let record = app
        .app
        .store
        .auth_by_uid(account.uid)
        .await
        .unwrap()
        .unwrap();
    let claims = |iat, exp| i2v::keys::TokenClaims {
        uid: account.uid,
        cid: account.client_id.clone(),
        sv: i2v::keys::secret_version(&record.secret_hash),
        iat,
        exp,
    };
    let now = (i2v::clock::now_ms() / 1000) as u64;
    let expired = app.app.keys.issue_token(&claims(now - 100, now - 1));
    let (_, body) = quota_with(&app, &[("authorization", &format!("Bearer {expired}"))]).await;
    assert_eq!(body["code"], 1101);
    let valid = app.app.keys.issue_token(&claims(now, now + 100));
    let (_, body) = quota_with(&app, &[("authorization", &format!("Bearer {valid}"))]).await;
    assert_eq!(body["code"], 1000);
    // Signed by another server's master key.
    let other = i2v::keys::Keys::from_master(&[9u8; 32]).issue_token(&claims(now, now + 100));
    let (_, body) = quota_with(&app, &[("authorization", &format!("Bearer {other}"))]).await;
    assert_eq!(body["code"], 1101);
}

#[tokio::test]
async fn secrets_are_stored_sealed_not_in_plain_text() {
    let app = spawn_app().await;
    let account = app.create_account(10).await;
    let needle = account.key.as_bytes();
    let stored: Vec<Vec<u8>> = match &app.backend.database_url {
        // Every row of every table, as text.
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let mut dump = Vec::new();
            for table in ["accounts", "credentials", "credit_ledger"] {
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT row_to_json(t)::TEXT FROM {table} t"
                )))
                .fetch_all(&pool)
                .await
                .unwrap();
                dump.extend(rows.into_iter().map(String::into_bytes));
            }
            dump
        }
        _ => vec![
            std::fs::read(app.dir.path().join("i2v.db")).unwrap(),
            std::fs::read(app.dir.path().join("i2v.db-wal")).unwrap_or_default(),
        ],
    };
    assert!(!stored.is_empty());
    for bytes in &stored {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "API key found in the database"
        );
    }
}

/// A credential header sent twice is refused, whichever copy is good: a proxy reading the last
/// copy must never see a different caller than the server reading the first.
#[tokio::test]
async fn repeated_credential_headers_are_refused() {
    let app = spawn_app().await;
    let account = app.create_account(100).await;
    let good_bearer = format!("Bearer {}", token_for(&app, &account).await);
    let send = |pairs: Vec<(&'static str, String)>| {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name, value.parse().unwrap());
        }
        let req = app.client.get(app.url(QUOTA)).headers(headers);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let key = || account.key.clone();
    let bearer = || good_bearer.clone();
    type Headers = Vec<(&'static str, String)>;
    let cases: Vec<(Headers, i64, &str)> = vec![
        (
            vec![("authorization", bearer()), ("authorization", bearer())],
            1101,
            "more than one Authorization header",
        ),
        (
            vec![
                ("authorization", bearer()),
                ("authorization", "Bearer not.a.token".into()),
            ],
            1101,
            "more than one Authorization header",
        ),
        (
            vec![("authorization", "".into()), ("authorization", bearer())],
            1101,
            "more than one Authorization header",
        ),
        (
            vec![("x-api-key", key()), ("x-api-key", key())],
            1109,
            "more than one x-api-key header",
        ),
        (
            vec![("x-api-key", key()), ("x-api-key", "wrong-key".into())],
            1109,
            "more than one x-api-key header",
        ),
        (
            vec![("x-api-key", "wrong-key".into()), ("x-api-key", key())],
            1109,
            "more than one x-api-key header",
        ),
        (
            vec![
                ("authorization", bearer()),
                ("x-api-key", key()),
                ("x-api-key", "wrong-key".into()),
            ],
            1109,
            "more than one x-api-key header",
        ),
    ];
    for (headers, code, msg) in cases {
        let shown = format!("{headers:?}");
        let (status, body) = send(headers).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(body["code"], code, "{shown}: {body}");
        assert_eq!(body["msg"], msg, "{shown}");
        assert!(body.get("data").is_none(), "{shown}: {body}");
    }
    // One of each is still fine: the bearer wins as before.
    let (_, both) = send(vec![
        ("authorization", bearer()),
        ("x-api-key", "wrong-key".into()),
    ])
    .await;
    assert_eq!(both["code"], 1000, "{both}");
    assert_eq!(both["data"]["credit"], 100);
}
