//! The one place that turns a finished video's blob key into the `video_url` clients get, in
//! results and in webhooks alike. Two modes (`blobs.video_urls`):
//! - `proxy` (default): `{public_url}/files/{key}`, served by this server, which checks the
//!   video row on every request, so the URL stops working the moment the video is deleted.
//! - `presigned` (S3 only): a presigned GET straight from the bucket, valid for
//!   `blobs.presign_expiry_secs`; it keeps working until the deletion sweep removes the object
//!   (normally within seconds of the delete), because the bucket knows nothing of our rows.

use std::time::Duration;

use crate::blobs::{BlobError, Blobs};
use crate::config::{Config, VideoUrlMode};

#[derive(Clone)]
pub struct VideoUrls {
    mode: Mode,
}

#[derive(Clone)]
enum Mode {
    Proxy { public_url: String },
    Presigned { blobs: Blobs, expires_in: Duration },
}

impl VideoUrls {
    pub fn new(config: &Config, blobs: &Blobs) -> VideoUrls {
        let mode = match config.blobs.video_urls {
            VideoUrlMode::Proxy => Mode::Proxy {
                public_url: config.public_url(),
            },
            VideoUrlMode::Presigned => Mode::Presigned {
                blobs: blobs.clone(),
                expires_in: config.blobs.presign_expiry,
            },
        };
        VideoUrls { mode }
    }

    /// The URL of the file at `blob_key`. Presigning is async because credentials may have to
    /// be fetched (instance metadata, web identity) before signing.
    pub async fn of(&self, blob_key: &str) -> Result<String, BlobError> {
        match &self.mode {
            Mode::Proxy { public_url } => Ok(format!("{public_url}/files/{blob_key}")),
            Mode::Presigned { blobs, expires_in } => {
                blobs.presigned_get(blob_key, *expires_in).await
            }
        }
    }
}
