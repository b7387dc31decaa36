//! The poster of a finished video: one JPEG frame, the console's thumbnail, stored beside the
//! video file (`Blobs::poster_key`) and removed with it.

use std::path::Path;

use bytes::Bytes;

use super::ffmpeg::{self, InputFile};
use crate::config::Render;

/// Poster width in pixels (the height follows the video's shape).
pub const POSTER_WIDTH: u32 = 320;

/// A poster of the MP4 at `video`, made in `work_dir`; `None` (logged) when ffmpeg cannot make
/// one. A missing poster costs a thumbnail, never the video.
pub async fn poster_of(settings: &Render, video: &Path, work_dir: &Path) -> Option<Bytes> {
    let output = work_dir.join("poster.jpg");
    let args = ffmpeg::poster_args(&InputFile::mp4(video.to_path_buf()), POSTER_WIDTH, &output);
    if let Err(e) = ffmpeg::run(&settings.ffmpeg, &args, settings.timeout).await {
        tracing::warn!(error = %e, detail = e.detail(), "no poster for this video");
        return None;
    }
    match tokio::fs::read(&output).await {
        Ok(bytes) if !bytes.is_empty() => Some(bytes.into()),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "reading the poster failed");
            None
        }
    }
}
