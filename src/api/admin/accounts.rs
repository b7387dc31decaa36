//! Admin: create accounts, show, ban/unban, top up credits, rotate secrets.

use axum::extract::{Path, State};
use serde_json::json;

use super::parse_uid;
use crate::api::body::JsonBody;
use crate::api::error::{ok, ApiError, ApiResult};
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::fields::Fields;
use crate::service::{accounts, ServiceError};

pub async fn create(State(app): State<App>, JsonBody(body): JsonBody) -> ApiResult {
    let f = Fields::of(&body)?;
    let name = f.required_string("name")?;
    let credits = f.int("credits")?.unwrap_or(0);
    let issued = accounts::create(&app, name, credits).await?;
    Ok(ok(
        "OK",
        json!({
            "uid": issued.account.uid,
            "team_id": issued.account.team_id,
            "name": issued.account.name,
            "clientId": issued.client_id,
            "clientSecret": issued.client_secret,
            "credits": issued.account.credits,
        }),
    ))
}

pub async fn show(State(app): State<App>, Path(uid): Path<String>) -> ApiResult {
    let uid = parse_uid(&uid)?;
    let account = app
        .store
        .account(uid)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::NotFound(format!("no account with uid {uid}")))?;
    let ledger = app
        .store
        .ledger_sum(uid)
        .await
        .map_err(ServiceError::from)?;
    Ok(ok(
        "OK",
        json!({
            "uid": account.uid, "team_id": account.team_id, "name": account.name,
            "credits": account.credits, "banned": account.banned, "created_at": account.created_at,
            "ledger_sum": ledger,
        }),
    ))
}

async fn set_banned(app: &App, raw_uid: &str, banned: bool) -> ApiResult {
    let uid = parse_uid(raw_uid)?;
    if !app
        .store
        .set_banned(uid, banned)
        .await
        .map_err(ServiceError::from)?
    {
        return Err(ServiceError::NotFound(format!("no account with uid {uid}")).into());
    }
    tracing::info!(uid, banned, "account ban changed");
    Ok(ok("OK", json!({ "uid": uid, "banned": banned })))
}

pub async fn ban(State(app): State<App>, Path(uid): Path<String>) -> ApiResult {
    set_banned(&app, &uid, true).await
}

pub async fn unban(State(app): State<App>, Path(uid): Path<String>) -> ApiResult {
    set_banned(&app, &uid, false).await
}

pub async fn add_credits(
    State(app): State<App>,
    Path(uid): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let uid = parse_uid(&uid)?;
    let amount = Fields::of(&body)?.required_int("amount")?;
    if amount <= 0 {
        return Err(ApiError::param("amount must be a positive integer"));
    }
    let balance = app
        .store
        .adjust_credits(uid, amount, "topup", now_ms())
        .await
        .map_err(ServiceError::from)?;
    Ok(ok("OK", json!({ "uid": uid, "credits": balance })))
}

pub async fn rotate_secret(State(app): State<App>, Path(uid): Path<String>) -> ApiResult {
    let uid = parse_uid(&uid)?;
    let secret = accounts::rotate_secret(&app, uid).await?;
    Ok(ok("OK", json!({ "uid": uid, "clientSecret": secret })))
}
