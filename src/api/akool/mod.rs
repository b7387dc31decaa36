//! Akool's public routes, one file per resource.

mod catalogue;
mod quota;
mod record;
mod token;
mod videos;

use axum::routing::{get, post};
use axum::Router;

use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/open/v3/getToken", post(token::get_token))
        .route("/api/open/v3/faceswap/quota/info", get(quota::quota_info))
        .route("/api/open/v4/aigModel/list", get(catalogue::model_list))
        .route("/api/open/v4/image2Video/effects", get(catalogue::effects))
        .route(
            "/api/open/v4/image2Video/updateVideoAudio",
            post(videos::update_video_audio),
        )
        .route(
            "/api/open/v4/image2Video/createBySourcePrompt",
            post(videos::create_single),
        )
        .route(
            "/api/open/v4/image2Video/createBySourcePrompt/batch",
            post(videos::create_batch),
        )
        .route(
            "/api/open/v4/image2Video/resultsByIds",
            post(videos::results_by_ids),
        )
        .route(
            "/api/open/v4/image2Video/delbyids",
            post(videos::delete_by_ids),
        )
}
