//! Rendering: a request resolved once from the video (`request`), a pure plan (sizes, frame
//! count) over the camera path of the motion (`camera`), frames drawn in Rust, and one ffmpeg
//! child process per job that encodes them. `Renderer` is the plug-in point for other backends;
//! `FfmpegRenderer` is the built-in one.

mod backends;
mod builtin;
mod camera;
pub mod comfyui;
pub mod ffmpeg;
pub mod frames;
pub mod plan;
pub mod poster;
mod reasons;
pub mod request;
mod soundtrack;
pub mod still_clips;

use std::path::{Path, PathBuf};

use async_trait::async_trait;

pub use backends::{renderer_for, Backends};
pub use builtin::FfmpegRenderer;
pub use request::{ClipRequest, RenderRequest, RenderWork, Soundtrack};
pub use still_clips::StillClips;

use crate::domain::catalogue::Catalogue;
use crate::domain::Video;

/// One render. Everything a user pointed at by URL has been fetched already (by the worker,
/// before it took a render slot), so a renderer does no network I/O on the user's behalf and a
/// slow image host never holds a render slot. The bytes are exactly as the hosts sent them
/// (untrusted: sniff, never believe a name or content type).
pub struct RenderJob<'a> {
    /// The record, for what the request does not carry (a backend may want the prompt).
    pub video: &'a Video,
    pub request: &'a RenderRequest,
    /// For audio updates: the source video's output file, already on local disk; `None` when
    /// the source video or its file is gone.
    pub source_file: Option<&'a Path>,
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
    /// Frames per second of the clips it makes of `model`; requests are resolved with it.
    fn fps(&self, model: &str) -> u32;
    /// Renders into a new file under `work_dir` (a private temporary directory).
    async fn render(&self, job: RenderJob<'_>, work_dir: &Path) -> Result<Rendered, RenderError>;
}
