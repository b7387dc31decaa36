//! Admin: an account's webhook faults, rules that make its callbacks misbehave on purpose
//! (`domain::faults`). The deliveries they touch show it in `/webhooks` (`fault`).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::parse_uid;
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::api::openapi::admin as doc;
use crate::api::openapi::{AdminUnauthorized, TooLarge};
use crate::api::params::PathParams;
use crate::app::App;
use crate::domain::faults::{parse_webhook_faults, FaultSet};
use crate::service::faults;
use crate::store::FaultKind;

/// An account's webhook fault rules as set, each `next` showing what is left of it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookFaults {
    /// The seed of the rules' draws; absent when the account has no rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub rules: Vec<WebhookFaultRule>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookFaultRule {
    /// The callback status (2, 3 or 4) the rule applies to; absent: every callback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Callbacks the rule still applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    #[schema(schema_with = doc::webhook_effect)]
    pub effect: Value,
}

impl WebhookFaults {
    fn none() -> Self {
        WebhookFaults {
            seed: None,
            rules: Vec::new(),
        }
    }

    fn of(set: &FaultSet) -> Self {
        let wire = set.to_wire("status", |on| {
            on.parse::<i64>().map_or_else(|_| json!(on), |s| json!(s))
        });
        serde_json::from_value(wire).expect("the wire form of a set has this shape")
    }
}

/// The account's webhook fault rules
#[utoipa::path(
    get,
    path = "/accounts/{uid}/webhook-faults",
    operation_id = "adminGetWebhookFaults",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<WebhookFaults>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn get_webhook_faults(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<WebhookFaults> {
    let set = faults::faults(&app, parse_uid(&uid)?, FaultKind::Webhook).await?;
    let view = set
        .as_ref()
        .map_or_else(WebhookFaults::none, WebhookFaults::of);
    Ok(ok("OK", view))
}

/// Set the account's webhook fault rules (replacing any)
#[utoipa::path(
    put,
    path = "/accounts/{uid}/webhook-faults",
    operation_id = "adminSetWebhookFaults",
    tag = "admin",
    request_body = doc::WebhookFaults,
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The rules as stored, or an error `code`", body = Answer<WebhookFaults>),
        (status = 401, response = AdminUnauthorized),
        (status = 413, response = TooLarge),
    ),
    security(("adminToken" = [])),
)]
pub async fn set_webhook_faults(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<WebhookFaults> {
    let uid = parse_uid(&uid)?;
    let set = parse_webhook_faults(&body).map_err(|e| ApiError::param(e.0))?;
    faults::set_faults(&app, uid, FaultKind::Webhook, &set).await?;
    tracing::info!(
        uid,
        rules = set.rules.len(),
        seed = set.seed,
        "webhook faults set"
    );
    Ok(ok("OK", WebhookFaults::of(&set)))
}

/// Remove the account's webhook fault rules
#[utoipa::path(
    delete,
    path = "/accounts/{uid}/webhook-faults",
    operation_id = "adminClearWebhookFaults",
    tag = "admin",
    params(("uid" = i64, Path, description = "Account uid")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<WebhookFaults>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn clear_webhook_faults(
    State(app): State<App>,
    PathParams(uid): PathParams<String>,
) -> ApiResult<WebhookFaults> {
    let uid = parse_uid(&uid)?;
    faults::clear_faults(&app, uid, FaultKind::Webhook).await?;
    tracing::info!(uid, "webhook faults cleared");
    Ok(ok("OK", WebhookFaults::none()))
}
