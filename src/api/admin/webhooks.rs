//! Admin: inspect webhook deliveries and their attempts; redeliver one.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::ToSchema;

use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::error::ApiError;
use crate::api::openapi::AdminUnauthorized;
use crate::api::params::{PathParams, QueryParams};
use crate::app::App;
use crate::clock::now_ms;
use crate::service::ServiceError;
use crate::store::{WebhookAttempt, WebhookDelivery};

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryAttempt {
    pub attempt: i64,
    pub at: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub id: i64,
    pub video_id: String,
    pub uid: i64,
    pub url: String,
    /// The video status the callback reports.
    pub video_status: i64,
    /// `pending`, `delivered`, `failed`, `skipped`, or by a webhook fault `held` (a reordered
    /// status-2 callback waiting for the video's final one) or `dropped` (never sent).
    pub state: String,
    /// The webhook fault given to this callback (the rule's `effect`), or null.
    #[schema(schema_with = delivery_fault)]
    pub fault: Option<Value>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub attempt_log: Vec<DeliveryAttempt>,
}

fn delivery_fault() -> Schema {
    Schema::OneOf(
        OneOfBuilder::new()
            .item(crate::api::openapi::admin::webhook_effect())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deliveries {
    /// Newest first.
    pub result: Vec<Delivery>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redelivered {
    pub id: i64,
    /// Always `pending`.
    #[schema(value_type = String)]
    pub state: &'static str,
}

impl Delivery {
    fn of(d: WebhookDelivery, attempts: Vec<WebhookAttempt>) -> Delivery {
        let attempt = |a: WebhookAttempt| DeliveryAttempt {
            attempt: a.attempt,
            at: a.at,
            http_status: a.http_status,
            error: a.error,
        };
        Delivery {
            id: d.id,
            video_id: d.video_id,
            uid: d.uid,
            url: d.url,
            video_status: d.video_status.code(),
            state: d.state,
            fault: d
                .fault
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            created_at: d.created_at,
            finished_at: d.finished_at,
            attempt_log: attempts.into_iter().map(attempt).collect(),
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    video_id: Option<String>,
    limit: Option<String>,
}

/// Webhook deliveries with their attempts
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "adminListWebhooks",
    tag = "admin",
    params(("video_id" = Option<String>, Query, description = "Only this video's"), ("limit" = Option<i64>, Query, description = "1 to 1000, default 100")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<Deliveries>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn list(
    State(app): State<App>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Deliveries> {
    let limit = match q.limit.as_deref() {
        None | Some("") => 100,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::param("limit must be an integer from 1 to 1000"))?,
    };
    let video_id = q.video_id.as_deref().filter(|v| !v.is_empty());
    let found = app
        .store
        .webhook_deliveries(video_id, limit)
        .await
        .map_err(ServiceError::from)?;
    let result = found
        .into_iter()
        .map(|(d, attempts)| Delivery::of(d, attempts))
        .collect();
    Ok(ok("OK", Deliveries { result }))
}

/// Make a delivery pending again, due now
#[utoipa::path(
    post,
    path = "/webhooks/{id}/redeliver",
    operation_id = "adminRedeliverWebhook",
    tag = "admin",
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "The result, or an error `code`", body = Answer<Redelivered>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn redeliver(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Redelivered> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::param(format!("delivery id must be an integer, got {id:?}")))?;
    if !app
        .store
        .redeliver_webhook(id, now_ms())
        .await
        .map_err(ServiceError::from)?
    {
        return Err(ServiceError::NotFound(format!("no webhook delivery {id}")).into());
    }
    Ok(ok(
        "OK",
        Redelivered {
            id,
            state: "pending",
        },
    ))
}
