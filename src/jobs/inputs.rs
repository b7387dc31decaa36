//! Fetches what a video's URLs point at, before the worker takes a render slot: a host that is
//! slow or never answers then holds only this fetch (bounded by the outbound first-byte timeout
//! and minimum transfer rate), never a render slot other accounts are waiting for.

use crate::config::Render;
use crate::domain::spec::AudioType;
use crate::net::{FetchError, Outbound};
use crate::render::{RenderError, RenderInputs};
use crate::store::{Video, VideoKind};

/// The bytes behind `image_url`, `last_image_url` and `audio_url`, as far as `video` uses them.
pub async fn fetch_inputs(
    outbound: &Outbound,
    limits: &Render,
    video: &Video,
) -> Result<RenderInputs, RenderError> {
    let mut inputs = RenderInputs::default();
    if video.kind != VideoKind::AudioUpdate {
        inputs.image = Some(
            fetch(
                outbound,
                "image_url",
                &video.image_url,
                limits.max_image_bytes,
            )
            .await?,
        );
        if !video.last_image_url.is_empty() {
            inputs.last_image = Some(
                fetch(
                    outbound,
                    "last_image_url",
                    &video.last_image_url,
                    limits.max_image_bytes,
                )
                .await?,
            );
        }
    }
    if AudioType::from_code(video.audio_type) == Some(AudioType::FromUrl) {
        inputs.audio = Some(
            fetch(
                outbound,
                "audio_url",
                &video.audio_url,
                limits.max_audio_bytes,
            )
            .await?,
        );
    }
    Ok(inputs)
}

async fn fetch(
    outbound: &Outbound,
    field: &str,
    url: &str,
    max_bytes: u64,
) -> Result<bytes::Bytes, RenderError> {
    outbound
        .fetch(url, max_bytes)
        .await
        .map_err(|e| fetch_error(field, e))
}

/// Passing faults (host down, slow, throttling) are retried later; anything else fails the video.
fn fetch_error(field: &str, e: FetchError) -> RenderError {
    if e.is_transient() {
        RenderError::Transient(format!("{field}: {e}"))
    } else {
        RenderError::Input(format!("{field}: {e}"))
    }
}
