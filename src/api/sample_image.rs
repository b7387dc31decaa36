//! The sample image `i2v dev` serves from its own loopback port, so a first create works with no
//! image host of the user's.

use anyhow::Context;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;

/// Serves `png` at `/sample.png` on a free loopback port until the process ends; returns the
/// image's URL.
pub async fn serve(png: Bytes) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot open a port for the sample image")?;
    let url = format!("http://{}/sample.png", listener.local_addr()?);
    let router = axum::Router::new().route(
        "/sample.png",
        get(move || {
            let png = png.clone();
            async move { ([(header::CONTENT_TYPE, "image/png")], png) }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "the sample image server stopped");
        }
    });
    Ok(url)
}
