//! Admin (test controls): the request journal, `GET|DELETE /requests`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::error::ApiError;
use crate::api::openapi::AdminUnauthorized;
use crate::api::params::{int_param, QueryParams};
use crate::app::App;
use crate::service::ServiceError;
use crate::store::{JournalEntry, JournalFilter};

/// One request to an Akool route and its answer. Bodies are JSON when they were JSON, else the
/// text, null when empty (so any JSON value); API keys, client secrets and tokens read
/// `[redacted]`.
#[derive(Serialize, ToSchema)]
pub struct RequestView {
    pub id: i64,
    /// On the account's clock (the server's when `uid` is null).
    pub at_ms: i64,
    /// Null when the credentials were unknown.
    pub uid: Option<i64>,
    pub method: String,
    pub path: String,
    /// The query string without `?`; empty when there was none.
    pub query: String,
    pub request_body: Value,
    /// The HTTP status; null when no answer was made (`drop: before`).
    pub status: Option<i64>,
    /// Akool's `code` of the answer, when it had one.
    pub code: Option<i64>,
    pub response_body: Value,
    pub latency_ms: i64,
    /// The fault effect applied, if any (`drop: after`: the answer shown was never sent).
    pub fault: Option<Value>,
}

/// A kept body: its JSON, else its text, null when empty.
fn body_value(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl From<JournalEntry> for RequestView {
    fn from(e: JournalEntry) -> Self {
        RequestView {
            id: e.id,
            at_ms: e.at_ms,
            uid: e.uid,
            method: e.method,
            path: e.path,
            query: e.query,
            request_body: body_value(&e.request_body),
            status: e.status,
            code: e.code,
            response_body: body_value(&e.response_body),
            latency_ms: e.latency_ms,
            fault: e.fault.as_deref().map(body_value),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Requests {
    /// Newest first.
    pub requests: Vec<RequestView>,
}

#[derive(Serialize, ToSchema)]
pub struct Cleared {
    pub removed: u64,
}

#[derive(Deserialize)]
pub struct ListQuery {
    uid: Option<String>,
    path: Option<String>,
    code: Option<String>,
    since_id: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize)]
pub struct ClearQuery {
    uid: Option<String>,
}

/// Requests to the Akool routes, newest first
#[utoipa::path(
    get,
    path = "/requests",
    operation_id = "adminListRequests",
    tag = "admin",
    params(
        ("uid" = Option<i64>, Query, description = "Only this account's"),
        ("path" = Option<String>, Query, description = "Only this path, e.g. /api/open/v4/image2Video/delbyids"),
        ("code" = Option<i64>, Query, description = "Only answers with this Akool code"),
        ("since_id" = Option<i64>, Query, description = "Only entries with a greater id"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 100"),
    ),
    responses(
        (status = 200, description = "The entries, or an error `code`", body = Answer<Requests>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn list(
    State(app): State<App>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Requests> {
    let limit = int_param("limit", q.limit.as_deref())?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::param("limit must be an integer from 1 to 1000"));
    }
    let filter = JournalFilter {
        uid: int_param("uid", q.uid.as_deref())?,
        path: q.path.filter(|p| !p.is_empty()),
        code: int_param("code", q.code.as_deref())?,
        since_id: int_param("since_id", q.since_id.as_deref())?,
        limit,
    };
    let found = app
        .journal
        .requests(&filter)
        .await
        .map_err(ServiceError::from)?;
    Ok(ok(
        "OK",
        Requests {
            requests: found.into_iter().map(RequestView::from).collect(),
        },
    ))
}

/// Clear the journal of one account (`uid`) or of all
#[utoipa::path(
    delete,
    path = "/requests",
    operation_id = "adminClearRequests",
    tag = "admin",
    params(("uid" = Option<i64>, Query, description = "Only this account's; all when absent")),
    responses(
        (status = 200, description = "How many entries went, or an error `code`", body = Answer<Cleared>),
        (status = 401, response = AdminUnauthorized),
    ),
    security(("adminToken" = [])),
)]
pub async fn clear(
    State(app): State<App>,
    QueryParams(q): QueryParams<ClearQuery>,
) -> ApiResult<Cleared> {
    let uid = int_param("uid", q.uid.as_deref())?;
    let removed = app.journal.clear(uid).await.map_err(ServiceError::from)?;
    Ok(ok("OK", Cleared { removed }))
}
