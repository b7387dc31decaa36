//! `[blobs]`: how clients reach finished files. Where the files live is the top-level
//! `blob_url` (see `blob_location`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// How clients reach finished files (see `crate::video_urls`).
    pub video_urls: VideoUrlMode,
    /// Lifetime of a presigned `video_url`.
    #[serde(rename = "presign_expiry_secs", with = "duration::secs")]
    pub presign_expiry: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoUrlMode {
    /// Through this server's `/files/...` route.
    Proxy,
    /// A presigned GET URL straight from the S3 bucket.
    Presigned,
}

/// S3's own ceiling for presigned URLs (7 days).
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(604_800);

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            video_urls: VideoUrlMode::Proxy,
            presign_expiry: Duration::from_secs(3600),
        }
    }
}

impl BlobsConfig {
    /// Checks what `[blobs]` says on its own; whether the storage can presign is checked with
    /// `blob_url` (see `Config::validate`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(Duration::from_secs(1)..=MAX_PRESIGN_EXPIRY).contains(&self.presign_expiry) {
            return invalid("blobs.presign_expiry_secs must be between 1 and 604800 (7 days)");
        }
        Ok(())
    }
}
