//! Rendering: a pure plan (sizes, frame count, camera motion), frames drawn in Rust, and one
//! ffmpeg child process per job that encodes them. `Renderer` is the plug-in point for other
//! backends; `FfmpegRenderer` is the built-in one.

mod builtin;
pub mod ffmpeg;
pub mod frames;
pub mod plan;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

pub use builtin::FfmpegRenderer;

use crate::domain::catalogue::Catalogue;
use crate::store::Video;

/// What a render needs besides the video record. Everything a user pointed at by URL has been
/// fetched already (by the worker, before it took a render slot), so a renderer does no network
/// I/O on the user's behalf and a slow image host never holds a render slot.
pub struct RenderJob<'a> {
    pub video: &'a Video,
    /// For audio updates: the source video's output file, already on local disk.
    pub source_file: Option<&'a Path>,
    pub inputs: &'a RenderInputs,
}

/// The bytes behind the video's URLs, exactly as the hosts sent them (untrusted: sniff, never
/// believe a name or content type).
#[derive(Clone, Debug, Default)]
pub struct RenderInputs {
    /// `image_url`; `None` for audio updates.
    pub image: Option<Bytes>,
    /// `last_image_url`, when the video has one.
    pub last_image: Option<Bytes>,
    /// `audio_url`, when the video's audio comes from a URL.
    pub audio: Option<Bytes>,
}

/// A finished render: an MP4 on local disk and its measured length.
#[derive(Debug)]
pub struct Rendered {
    pub file: PathBuf,
    pub duration: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The job cannot succeed with these inputs; the message is shown as `error_reason`.
    #[error("{0}")]
    Input(String),
    /// A passing fault (the image host is down or slow); worth trying again later.
    #[error("{0}")]
    Transient(String),
    /// The renderer cannot work right now (missing ffmpeg, disk, ...).
    #[error("{0}")]
    Unavailable(String),
}

/// A render backend: what it can make (served as the model and effect lists, and enforced on
/// create) and how it makes it.
#[async_trait]
pub trait Renderer: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn catalogue(&self) -> &'static Catalogue;
    /// Renders into a new file under `work_dir` (a private temporary directory).
    async fn render(&self, job: RenderJob<'_>, work_dir: &Path) -> Result<Rendered, RenderError>;
}
