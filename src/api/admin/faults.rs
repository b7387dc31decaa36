//! Admin (test controls): an account's API faults, `GET|PUT|DELETE /accounts/{uid}/faults`.

use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::parse_uid;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::faults::{parse_api_faults, FaultSet};
use crate::service::faults;
use crate::store::FaultKind;

/// An account's fault rules as set, each `next` showing what is left of it; no rules: `{"rules": []}`
/// (and no seed).
#[derive(Serialize, ToSchema)]
pub struct FaultsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Value>,
}

impl FaultsView {
    /// The set in the admin API's shape; `subject_key` names each rule's subject field.
    pub fn of(set: Option<&FaultSet>, subject_key: &str, subject: impl Fn(&str) -> Value) -> Self {
        let Some(set) = set else {
            return FaultsView {
                seed: None,
                rules: Vec::new(),
            };
        };
        let wire = set.to_wire(subject_key, subject);
        FaultsView {
            seed: Some(set.seed),
            rules: wire["rules"].as_array().cloned().unwrap_or_default(),
        }
    }
}

fn api_view(set: Option<&FaultSet>) -> FaultsView {
    FaultsView::of(set, "route", |on| Value::String(on.to_owned()))
}

/// The account's API faults
#[utoipa::path(
    get,
    path = "/accounts/{uid}/faults",
    operation_id = "adminGetFaults",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The rules, or an error `code`", body = Answer<FaultsView>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn get_faults(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<FaultsView> {
    let set = faults::faults(&app, parse_uid(&uid)?, FaultKind::Api).await?;
    Ok(ok("OK", api_view(set.as_ref())))
}

/// Set the account's API faults (replacing any; counts and draws start afresh)
#[utoipa::path(
    put,
    path = "/accounts/{uid}/faults",
    operation_id = "adminSetFaults",
    tag = "admin",
    request_body = doc::ApiFaults,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The rules as set, or an error `code`", body = Answer<FaultsView>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn set_faults(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<FaultsView> {
    let uid = parse_uid(&uid)?;
    let set = parse_api_faults(&body).map_err(|e| ApiError::param(e.0))?;
    faults::set_faults(&app, uid, FaultKind::Api, &set).await?;
    Ok(ok("OK", api_view(Some(&set))))
}

/// Remove the account's API faults
#[utoipa::path(
    delete,
    path = "/accounts/{uid}/faults",
    operation_id = "adminClearFaults",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "No rules, or an error `code`", body = Answer<FaultsView>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn clear_faults(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<FaultsView> {
    faults::clear_faults(&app, parse_uid(&uid)?, FaultKind::Api).await?;
    Ok(ok("OK", api_view(None)))
}
