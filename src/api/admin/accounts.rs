//! Admin: create accounts, show, ban/unban, top up credits, rotate secrets.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::parse_uid;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::emulation::Lifecycle;
use crate::domain::fields::Fields;
use crate::service::accounts::{self, IssuedAccountView};
use crate::service::emulation;
use crate::service::ServiceError;

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInfo {
    pub uid: i64,
    pub team_id: String,
    pub name: String,
    pub credits: i64,
    pub banned: bool,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Sum of the credit ledger; equals `credits` unless something is wrong.
    pub ledger_sum: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanState {
    pub uid: i64,
    pub banned: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Balance {
    pub uid: i64,
    pub credits: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotatedSecret {
    pub uid: i64,
    #[serde(rename = "clientSecret")]
    pub client_secret: String,
}

/// Create an account
#[utoipa::path(
    post,
    path = "/accounts",
    operation_id = "adminCreateAccount",
    tag = "admin",
    request_body = doc::NewAccount,
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<IssuedAccountView>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn create(
    State(app): State<App>,
    JsonBody(body): JsonBody,
) -> ApiResult<IssuedAccountView> {
    let f = Fields::of(&body)?;
    let name = f.required_string("name")?;
    let credits = f.int("credits")?.unwrap_or(0);
    let lifecycle = f
        .raw("lifecycle")
        .filter(|v| !v.is_null())
        .map(Lifecycle::from_json)
        .transpose()
        .map_err(ApiError::param)?;
    let issued = accounts::create(&app, name, credits).await?;
    if let Some(lifecycle) = lifecycle {
        emulation::set_lifecycle(&app, issued.account.uid, lifecycle).await?;
    }
    Ok(ok("OK", issued.view()))
}

/// Show an account
#[utoipa::path(
    get,
    path = "/accounts/{uid}",
    operation_id = "adminShowAccount",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<AccountInfo>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn show(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<AccountInfo> {
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
        AccountInfo {
            uid: account.uid,
            team_id: account.team_id,
            name: account.name,
            credits: account.credits,
            banned: account.banned,
            created_at: account.created_at,
            ledger_sum: ledger,
        },
    ))
}

async fn set_banned(app: &App, raw_uid: &str, banned: bool) -> ApiResult<BanState> {
    let uid = parse_uid(raw_uid)?;
    if !accounts::set_banned(app, uid, banned).await? {
        return Err(ServiceError::NotFound(format!("no account with uid {uid}")).into());
    }
    Ok(ok("OK", BanState { uid, banned }))
}

/// Ban an account (1200 everywhere)
#[utoipa::path(
    post,
    path = "/accounts/{uid}/ban",
    operation_id = "adminBanAccount",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<BanState>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn ban(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<BanState> {
    set_banned(&app, &uid, true).await
}

/// Lift a ban
#[utoipa::path(
    post,
    path = "/accounts/{uid}/unban",
    operation_id = "adminUnbanAccount",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<BanState>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn unban(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<BanState> {
    set_banned(&app, &uid, false).await
}

/// Top up credits
#[utoipa::path(
    post,
    path = "/accounts/{uid}/credits",
    operation_id = "adminAddCredits",
    tag = "admin",
    request_body = doc::TopUp,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<Balance>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn add_credits(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Balance> {
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
    Ok(ok(
        "OK",
        Balance {
            uid,
            credits: balance,
        },
    ))
}

/// New clientSecret; the old key and its tokens stop working
#[utoipa::path(
    post,
    path = "/accounts/{uid}/rotate-secret",
    operation_id = "adminRotateSecret",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<RotatedSecret>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn rotate_secret(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<RotatedSecret> {
    let uid = parse_uid(&uid)?;
    let secret = accounts::rotate_secret(&app, uid).await?;
    Ok(ok(
        "OK",
        RotatedSecret {
            uid,
            client_secret: secret,
        },
    ))
}
