//! i2v's own routes beside Akool's, where Akool has none (`/api/i2v/v1/*`): authenticated
//! exactly like the Akool routes, answered in the same envelope, documented in `/openapi.json`
//! as i2v extensions.

pub(crate) mod videos;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(videos::list_videos))
}
