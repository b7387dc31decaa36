//! Fetches what a video's URLs point at, before the worker takes a render slot: a host that is
//! slow or never answers then holds only this fetch (bounded by the outbound first-byte timeout
//! and minimum transfer rate), never a render slot other accounts are waiting for.

use bytes::Bytes;

use crate::config::Render;
use crate::net::{FetchError, Outbound};
use crate::render::{RenderError, RenderRequest, RenderWork, Soundtrack};

/// `request` with the bytes behind the URLs it names (`image_url`, `last_image_url`,
/// `audio_url`, as far as the video uses them).
pub async fn fetch_inputs(
    outbound: &Outbound,
    limits: &Render,
    request: RenderRequest<&str>,
) -> Result<RenderRequest<Bytes>, RenderError> {
    let work = match request.work {
        RenderWork::Clip(clip) => {
            let image = fetch(outbound, "image_url", clip.image, limits.max_image_bytes).await?;
            let last_image = match clip.last_image {
                None => None,
                Some(url) => {
                    Some(fetch(outbound, "last_image_url", url, limits.max_image_bytes).await?)
                }
            };
            RenderWork::Clip(clip.with_inputs(image, last_image))
        }
        RenderWork::AudioUpdate => RenderWork::AudioUpdate,
    };
    let audio = match request.audio {
        Soundtrack::None => Soundtrack::None,
        Soundtrack::Generated => Soundtrack::Generated,
        Soundtrack::File(url) => {
            Soundtrack::File(fetch(outbound, "audio_url", url, limits.max_audio_bytes).await?)
        }
    };
    Ok(RenderRequest { work, audio })
}

async fn fetch(
    outbound: &Outbound,
    field: &str,
    url: &str,
    max_bytes: u64,
) -> Result<Bytes, RenderError> {
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
