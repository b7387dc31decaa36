//! Admin (emulator controls): reset accounts, seed records.

use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::clock::only_fields;
use super::parse_uid;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::fields::Fields;
use crate::domain::VideoStatus;
use crate::service::emulation::{self, SeedItem, MAX_SEED};

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountReset {
    pub uid: i64,
    pub videos_removed: u64,
    /// The balance now: the account's initial grant.
    pub credits: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EverythingReset {
    pub accounts: u64,
    pub videos_removed: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seeded {
    /// The new records' `_id`s, in the order given.
    pub ids: Vec<String>,
}

/// Reset an account: its videos, files, callbacks and outcomes gone; defaults back
#[utoipa::path(
    post,
    path = "/accounts/{uid}/reset",
    operation_id = "adminResetAccount",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<AccountReset>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn reset_account(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<AccountReset> {
    let uid = parse_uid(&uid)?;
    let done = emulation::reset(&app, uid).await?;
    Ok(ok(
        "OK",
        AccountReset {
            uid,
            videos_removed: done.videos_removed,
            credits: done.credits,
        },
    ))
}

/// Reset every account
#[utoipa::path(
    post,
    path = "/reset",
    operation_id = "adminResetAll",
    tag = "admin",
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<EverythingReset>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn reset_all(State(app): State<App>) -> ApiResult<EverythingReset> {
    let (accounts, videos_removed) = emulation::reset_all(&app).await?;
    Ok(ok(
        "OK",
        EverythingReset {
            accounts,
            videos_removed,
        },
    ))
}

/// Seed records directly (statuses 1-4, up to 10,000, free)
#[utoipa::path(
    post,
    path = "/accounts/{uid}/seed",
    operation_id = "adminSeedVideos",
    tag = "admin",
    request_body = doc::Seed,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<Seeded>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn seed(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Seeded> {
    let uid = parse_uid(&uid)?;
    only_fields(&body, &["videos"])?;
    let list = body
        .get("videos")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::param("videos must be an array of records"))?;
    if list.is_empty() || list.len() > MAX_SEED {
        return Err(ApiError::param(format!(
            "videos must hold 1 to {MAX_SEED} records, got {}",
            list.len()
        )));
    }
    let items = list
        .iter()
        .enumerate()
        .map(|(n, v)| seed_item(v).map_err(|e| ApiError::param(format!("videos[{n}]: {}", e.msg))))
        .collect::<Result<Vec<_>, _>>()?;
    let ids = emulation::seed(&app, uid, &items).await?;
    Ok(ok(
        "OK",
        Seeded {
            ids: ids.iter().map(|id| id.to_hex()).collect(),
        },
    ))
}

const SEED_FIELDS: &[&str] = &[
    "status",
    "resolution",
    "video_length",
    "prompt",
    "image_url",
    "create_time",
    "error_reason",
];

fn seed_item(value: &Value) -> Result<SeedItem, ApiError> {
    only_fields(value, SEED_FIELDS)?;
    let f = Fields::of(value)?;
    let code = f.required_int("status")?;
    let status = VideoStatus::from_code(code)
        .ok_or_else(|| ApiError::param(format!("status must be 1, 2, 3 or 4, got {code}")))?;
    let create_time = f.int("create_time")?;
    if create_time.is_some_and(|t| t < 0) {
        return Err(ApiError::param(
            "create_time must be epoch milliseconds >= 0",
        ));
    }
    let text = |name: &str| -> Result<String, ApiError> {
        let s = f.string(name)?.unwrap_or_default();
        if s.contains('\0') {
            return Err(ApiError::param(format!("{name} must not contain NUL")));
        }
        Ok(s.to_owned())
    };
    Ok(SeedItem {
        status,
        resolution: f.string("resolution")?.unwrap_or("720p").to_owned(),
        video_length: f.int("video_length")?.unwrap_or(5),
        prompt: text("prompt")?,
        image_url: text("image_url")?,
        create_time,
        error_reason: f
            .string("error_reason")?
            .filter(|r| !r.trim().is_empty())
            .map(str::to_owned),
    })
}
