//! `GET /api/i2v/v1/videos`: an account's videos, newest first, page by page (Akool can only
//! read videos by id; the web console lists them).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::akool::record::{self, ResultVideo};
use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::error::ApiError;
use crate::api::params::{int_param, QueryParams};
use crate::app::App;
use crate::domain::ObjectId;
use crate::service::{videos, Caller, ServiceError};
use crate::store::VideoFilter;

/// Largest page.
pub const MAX_PAGE: i64 = 100;
const DEFAULT_PAGE: i64 = 50;
/// Longest prompt search, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// The listing's query parameters, as this route and the web console's list take them.
#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoPage {
    /// The videos, newest first, each as `resultsByIds` shows it.
    pub result: Vec<ResultVideo>,
    /// Pass as `cursor` for the next page; `null` on the last page. With `status` or `q` a page
    /// looks at no more than 5,000 of the account's videos, so it may hold fewer than `limit`
    /// (even none) and still have a next page.
    pub next_cursor: Option<String>,
}

/// List the caller's videos (i2v extension)
///
/// Newest first, `limit` at a time; `next_cursor` continues. Not an Akool route: Akool reads
/// videos only by id.
#[utoipa::path(
    get,
    path = "/api/i2v/v1/videos",
    operation_id = "i2vListVideos",
    tag = "i2v extensions",
    params(
        ("status" = Option<i64>, Query, description = "Only videos with this status: 1 queued, 2 processing, 3 completed, 4 failed"),
        ("q" = Option<String>, Query, description = "Only videos whose prompt contains this (ASCII case ignored), at most 200 characters"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("limit" = Option<i64>, Query, description = "1 to 100, default 50"),
    ),
    responses(
        (status = 200, description = "A page of videos, or an error `code` (1003 bad parameter)", body = Answer<VideoPage>),
    ),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn list_videos(
    State(app): State<App>,
    caller: Caller,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<VideoPage> {
    let filter = filter_of(q, DEFAULT_PAGE)?;
    let page = videos::list(&app, &caller, &filter).await?;
    let next_cursor = page.next.map(|id| id.to_hex());
    let mut result = Vec::with_capacity(page.videos.len());
    for v in &page.videos {
        let item = record::result(v, &app.video_urls)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        result.push(item);
    }
    Ok(ok(
        "OK",
        VideoPage {
            result,
            next_cursor,
        },
    ))
}

/// The filter `q` asks for (`limit` defaulting to `default_limit`), or the 1003 answer naming
/// the bad parameter.
pub fn filter_of(q: ListQuery, default_limit: i64) -> Result<VideoFilter, ApiError> {
    let limit = int_param("limit", q.limit.as_deref())?.unwrap_or(default_limit);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::param(format!(
            "limit must be an integer from 1 to {MAX_PAGE}"
        )));
    }
    let status = int_param("status", q.status.as_deref())?;
    if status.is_some_and(|s| !(1..=4).contains(&s)) {
        return Err(ApiError::param(
            "status must be 1 (queued), 2 (processing), 3 (completed) or 4 (failed)",
        ));
    }
    let before =
        match q.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(ObjectId::parse(cursor).ok_or_else(|| {
                ApiError::param("cursor must be a next_cursor from a previous page")
            })?),
        };
    let prompt_contains = q.q.filter(|q| !q.trim().is_empty());
    if prompt_contains
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(ApiError::param(format!(
            "q must be at most {MAX_QUERY_CHARS} characters"
        )));
    }
    Ok(VideoFilter {
        status,
        prompt_contains,
        before,
        limit,
    })
}
