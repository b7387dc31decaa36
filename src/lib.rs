//! i2v: a self-hostable server for Akool's Image-to-Video OpenAPI.
//!
//! `App::build(config)` opens everything; `serve(app, listener, shutdown)` runs the HTTP API and
//! the background loops until `shutdown` resolves; `run_background(app, shutdown)` runs only the
//! loops (`i2v worker`). Tests call exactly these.

pub mod allocator;
pub mod api;
pub mod app;
pub mod auth_cache;
pub mod blobs;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod console;
pub mod dev;
pub mod domain;
pub mod emulator;
pub mod jobs;
pub mod journal;
pub mod keys;
pub mod metrics;
pub mod migrate_store;
pub mod net;
pub mod outbox;
pub mod periodic;
pub mod redact;
pub mod render;
pub mod service;
pub mod store;
pub mod video_urls;
pub mod webhooks;

use std::future::Future;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use app::App;
pub use config::Config;

/// Serves the API on `listener` with the background loops until `shutdown` resolves, then lets
/// in-flight requests finish, hands running renders back to the queue and stops the loops.
/// Connections are bounded by `[server]` (see `api::server`).
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let limits = api::server::Limits::at_start_up(&app.config);
    let stop = CancellationToken::new();
    let mut background = start_background(&app, app.config.worker_count(), &stop);
    background.spawn(metrics::run_upkeep(stop.clone()));
    // Only a serving process records requests; it writes the last of them after it stopped serving.
    let journal_stop = CancellationToken::new();
    let journal = tokio::spawn(app.journal.clone().run(journal_stop.clone()));
    let settings = &app.config;
    let blobs = settings
        .blob_location()
        .map_or_else(|e| e.to_string(), |l| l.to_string());
    tracing::info!(
        %addr,
        database = %settings.database_url(),
        data_dir = %settings.data_dir.display(),
        %blobs,
        workers = settings.worker_count(),
        allow_private_urls = settings.allow_private_urls,
        admin_api = settings.admin_token.is_some(),
        max_connections = limits.max_connections,
        "i2v listening"
    );
    let router = api::router(app);
    api::server::serve(router, listener, limits, shutdown).await;
    journal_stop.cancel();
    let _ = journal.await;
    stop.cancel();
    background.join_all().await;
    Ok(())
}

/// Runs only the background loops (render workers, reaper, sweeper) until `shutdown` resolves.
pub async fn run_background(app: App, shutdown: impl Future<Output = ()>) {
    let stop = CancellationToken::new();
    let background = start_background(&app, app.config.worker_count(), &stop);
    shutdown.await;
    stop.cancel();
    background.join_all().await;
}

fn start_background(app: &App, workers: usize, stop: &CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(outbox::run_housekeeping(app.clone(), stop.clone()));
    // Every process reaps: a lease that expired because its worker died is returned even when
    // this process renders nothing itself.
    set.spawn(jobs::run_reaper(
        app.store.clone(),
        app.config.jobs.max_attempts,
        app.config.jobs.reap_interval,
        stop.clone(),
    ));
    set.spawn(webhooks::run_deliveries(app.clone(), stop.clone()));
    set.spawn(emulator::run(app.clone(), stop.clone()));
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "i2v".into());
    let prefix = format!("{host}-{}", std::process::id());
    jobs::spawn_workers(&mut set, app, &prefix, workers, stop);
    set
}
