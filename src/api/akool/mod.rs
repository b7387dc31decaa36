//! Akool's public routes, one file per resource. Each handler carries its OpenAPI operation.

mod catalogue;
mod quota;
pub(super) mod record;
mod record_shapes;
mod token;
mod videos;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

/// Every route, each request passing through `intercept` (faults and journal, admin API).
pub fn routes(app: App) -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(token::get_token))
        .routes(routes!(quota::quota_info))
        .routes(routes!(catalogue::model_list))
        .routes(routes!(catalogue::effects))
        .routes(routes!(videos::update_video_audio))
        .routes(routes!(videos::create_single))
        .routes(routes!(videos::create_batch))
        .routes(routes!(videos::results_by_ids))
        .routes(routes!(videos::delete_by_ids))
        .route_layer(axum::middleware::from_fn_with_state(
            app,
            super::intercept::intercept,
        ))
}
