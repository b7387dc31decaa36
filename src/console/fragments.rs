//! HTML fragments the console's script asks for with the caller's credentials: a page of
//! videos, and the account's credits and ledger. Authenticated by the same extractor as the
//! Akool routes; bad input gets the same Akool answers (JSON with `code` and `msg`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::pages::render;
use super::time::utc;
use crate::api::error::ApiError;
use crate::api::i2v::videos::{filter_of, ListQuery};
use crate::api::params::QueryParams;
use crate::app::App;
use crate::blobs::Blobs;
use crate::domain::{Video, VideoStatus};
use crate::service::{videos, Caller, ServiceError};

/// Videos per page in the console.
const PAGE: i64 = 24;
/// Ledger rows shown.
const LEDGER_ROWS: i64 = 20;

#[derive(Template)]
#[template(path = "console/videos.html")]
struct VideosFragment {
    items: Vec<Item>,
    next_cursor: Option<String>,
    unfinished: bool,
}

struct Item {
    id: String,
    status: i64,
    status_label: &'static str,
    prompt: String,
    model: String,
    resolution: &'static str,
    seconds: i64,
    created: String,
    video_url: Option<String>,
    poster_url: Option<String>,
    error_reason: Option<String>,
}

pub async fn videos(
    State(app): State<App>,
    caller: Caller,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let filter = filter_of(q, PAGE)?;
    let page = videos::list(&app, &caller, &filter).await?;
    let next_cursor = page.next.map(|id| id.to_hex());
    let found = page.videos;
    let mut items = Vec::with_capacity(found.len());
    for video in &found {
        items.push(item(&app, video).await?);
    }
    let unfinished = found.iter().any(|v| v.status.is_unfinished());
    Ok(render(&VideosFragment {
        items,
        next_cursor,
        unfinished,
    }))
}

async fn item(app: &App, video: &Video) -> Result<Item, ServiceError> {
    let url_of = |key: String| async move {
        app.video_urls
            .of(&key)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))
    };
    let (video_url, poster_url) = match (&video.status, &video.blob_key) {
        (VideoStatus::Completed, Some(key)) => {
            // Emulated and seeded videos have no poster: the page drops an image that fails.
            let poster = match Blobs::poster_key(key) {
                Some(poster) => Some(url_of(poster).await?),
                None => None,
            };
            (Some(url_of(key.clone()).await?), poster)
        }
        _ => (None, None),
    };
    let status = video.status.code();
    Ok(Item {
        id: video.id.to_hex(),
        status,
        status_label: match video.status {
            VideoStatus::Queued => "queued",
            VideoStatus::Processing => "processing",
            VideoStatus::Completed => "completed",
            VideoStatus::Failed => "failed",
        },
        prompt: video.prompt.clone(),
        model: video.model.as_str().to_owned(),
        resolution: video.resolution.value(),
        seconds: video.video_length,
        created: utc(video.create_time),
        video_url,
        poster_url,
        error_reason: video.error_reason.clone().filter(|r| !r.is_empty()),
    })
}

#[derive(Template)]
#[template(path = "console/account_summary.html")]
struct AccountFragment {
    uid: i64,
    credits: i64,
    ledger: Vec<LedgerRow>,
}

struct LedgerRow {
    at: String,
    amount: i64,
    reason: String,
    video_id: String,
}

pub async fn account(State(app): State<App>, caller: Caller) -> Result<Response, ApiError> {
    let account = app
        .store
        .account(caller.uid)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::Internal("the caller's account is gone".into()))?;
    let ledger = app
        .store
        .ledger(caller.uid, LEDGER_ROWS)
        .await
        .map_err(ServiceError::from)?
        .into_iter()
        .map(|e| LedgerRow {
            at: utc(e.at),
            amount: e.amount,
            reason: e.reason,
            video_id: e.video_id.unwrap_or_default(),
        })
        .collect();
    Ok(render(&AccountFragment {
        uid: caller.uid,
        credits: account.credits,
        ledger,
    }))
}
