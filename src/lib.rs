//! i2v: a self-hostable server for Akool's Image-to-Video OpenAPI.
//!
//! `App::build(config)` opens everything; `serve(app, listener, shutdown)` runs the HTTP API and
//! the background loops until `shutdown` resolves. Tests call exactly these two.

pub mod api;
pub mod app;
pub mod blobs;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod keys;
pub mod outbox;
pub mod service;
pub mod store;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use app::App;
pub use config::Config;

/// Serves the API on `listener` and runs the sweepers until `shutdown` resolves, then lets
/// in-flight requests finish and stops the background loops.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let sweeper = tokio::spawn(outbox::run_sweeper(
        app.store.clone(),
        app.blobs.clone(),
        Duration::from_secs(app.config.sweeper.interval_secs.max(1)),
        stop.clone(),
    ));
    let router = api::router(app);
    tracing::info!(addr = %listener.local_addr()?, "i2v listening");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    stop.cancel();
    let _ = sweeper.await;
    served?;
    Ok(())
}
