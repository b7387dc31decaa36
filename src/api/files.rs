//! Serves output files at the `video_url`s handed to clients. A deleted video's URL stops
//! working the moment its delete commits: the lookup goes through the video row.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::domain::ObjectId;

pub fn routes() -> Router<App> {
    Router::new().route("/files/videos/{id}/{name}", get(video_file))
}

/// The public URL of a finished video's file.
pub fn video_url(public_url: &str, blob_key: &str) -> String {
    format!("{public_url}/files/{blob_key}")
}

async fn video_file(State(app): State<App>, Path((id, name)): Path<(String, String)>) -> Response {
    let missing = || (StatusCode::NOT_FOUND, "not found").into_response();
    let Some(id) = ObjectId::parse(&id) else {
        return missing();
    };
    let key = format!("videos/{id}/{name}");
    // Only the file the row points at is served: stale attempts and deleted videos are not.
    match app.store.blob_key_of(id).await {
        Ok(Some(current)) if current == key => {}
        Ok(_) => return missing(),
        Err(e) => {
            tracing::error!(error = %e, "file lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    match app.blobs.get(&key).await {
        Ok(Some(bytes)) => ([(header::CONTENT_TYPE, "video/mp4")], bytes).into_response(),
        Ok(None) => missing(),
        Err(e) => {
            tracing::error!(error = %e, "file read failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
