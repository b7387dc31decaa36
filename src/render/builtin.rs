//! The built-in renderer: fetch the image(s), draw the camera motion in Rust, pipe raw frames to
//! ffmpeg, add the soundtrack, measure the result. Deterministic: the same inputs give the same
//! frames.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Semaphore};

use super::ffmpeg::{self, AudioSource, EncodeSpec, FfmpegError};
use super::frames::{self, FrameRenderer, SourceImage};
use super::plan::{output_size, Motion, RenderPlan};
use super::{RenderError, RenderJob, Rendered, Renderer};
use crate::domain::catalogue::Catalogue;
use crate::domain::spec::AudioType;
use crate::net::Outbound;
use crate::store::{Video, VideoKind};

#[derive(Clone, Debug)]
pub struct RenderSettings {
    pub fps: u32,
    /// x264 preset and quality.
    pub preset: String,
    pub crf: u32,
    pub max_image_bytes: u64,
    pub max_audio_bytes: u64,
    /// Upper bound on one ffmpeg run.
    pub timeout: Duration,
    /// Most ffmpeg processes at once.
    pub max_concurrent: usize,
    pub ffmpeg: String,
    pub ffprobe: String,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            fps: 24,
            preset: "veryfast".into(),
            crf: 20,
            max_image_bytes: 20 * 1024 * 1024,
            max_audio_bytes: 50 * 1024 * 1024,
            timeout: Duration::from_secs(600),
            max_concurrent: 2,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
        }
    }
}

pub struct FfmpegRenderer {
    settings: RenderSettings,
    outbound: Outbound,
    encodes: Semaphore,
}

impl FfmpegRenderer {
    pub fn new(settings: RenderSettings, outbound: Outbound) -> FfmpegRenderer {
        let permits = settings.max_concurrent.max(1);
        FfmpegRenderer {
            settings,
            outbound,
            encodes: Semaphore::new(permits),
        }
    }

    async fn fetch_image(&self, field: &str, url: &str) -> Result<SourceImage, RenderError> {
        let bytes = self
            .outbound
            .fetch(url, self.settings.max_image_bytes)
            .await
            .map_err(|e| fetch_error(field, e))?;
        tokio::task::spawn_blocking(move || frames::decode(&bytes))
            .await
            .map_err(|e| RenderError::Unavailable(format!("image decoding stopped: {e}")))?
            .map_err(|e| RenderError::Input(format!("{field}: {e}")))
    }

    async fn audio_for(&self, video: &Video, work_dir: &Path) -> Result<AudioSource, RenderError> {
        match AudioType::from_code(video.audio_type) {
            Some(AudioType::FromUrl) => {
                let bytes = self
                    .outbound
                    .fetch(&video.audio_url, self.settings.max_audio_bytes)
                    .await
                    .map_err(|e| fetch_error("audio_url", e))?;
                let path = work_dir.join("audio.input");
                tokio::fs::write(&path, &bytes)
                    .await
                    .map_err(io_unavailable)?;
                Ok(AudioSource::File(path))
            }
            Some(AudioType::Generated) => Ok(AudioSource::Generated),
            _ if video.generate_audio => Ok(AudioSource::Generated),
            _ => Ok(AudioSource::None),
        }
    }

    async fn render_motion(&self, video: &Video, work_dir: &Path) -> Result<PathBuf, RenderError> {
        let first = self.fetch_image("image_url", &video.image_url).await?;
        let last = match video.last_image_url.as_str() {
            "" => None,
            url => Some(self.fetch_image("last_image_url", url).await?),
        };
        let size =
            output_size(&video.resolution, first.width(), first.height()).ok_or_else(|| {
                RenderError::Input(format!("resolution {} is not supported", video.resolution))
            })?;
        let motion = Motion::from_effect_code(&video.effect_code)
            .unwrap_or_else(|| Motion::from_prompt(&video.prompt));
        let plan = RenderPlan::new(
            size,
            self.settings.fps,
            video.video_length as f64,
            motion,
            last.is_some(),
        );
        let audio = self.audio_for(video, work_dir).await?;
        let output = work_dir.join("output.mp4");
        let spec = EncodeSpec {
            width: size.width,
            height: size.height,
            fps: self.settings.fps,
            seconds: video.video_length as f64,
            audio,
            preset: self.settings.preset.clone(),
            crf: self.settings.crf,
            output: output.clone(),
        };
        let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
        let frame_count = plan.frame_count;
        let producer = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let mut renderer = FrameRenderer::new(plan, first, last);
            for index in 0..frame_count {
                let mut frame = vec![0u8; renderer.frame_len()];
                renderer
                    .render(index, &mut frame)
                    .map_err(|e| e.to_string())?;
                if tx.blocking_send(frame).is_err() {
                    return Err("the encoder stopped reading frames".into());
                }
            }
            Ok(())
        });
        let _permit = self
            .encodes
            .acquire()
            .await
            .map_err(|_| RenderError::Unavailable("renderer shut down".into()))?;
        let encoded = ffmpeg::encode(
            &self.settings.ffmpeg,
            &ffmpeg::encode_args(&spec),
            rx,
            self.settings.timeout,
        )
        .await;
        let produced = producer
            .await
            .map_err(|e| RenderError::Unavailable(format!("frame drawing stopped: {e}")))?;
        encoded.map_err(encode_error)?;
        produced.map_err(|e| RenderError::Unavailable(format!("frame drawing failed: {e}")))?;
        Ok(output)
    }

    async fn render_audio_update(
        &self,
        video: &Video,
        source: &Path,
        work_dir: &Path,
    ) -> Result<PathBuf, RenderError> {
        let seconds = ffmpeg::duration(&self.settings.ffprobe, source)
            .await
            .map_err(encode_error)?;
        let audio = match self.audio_for(video, work_dir).await? {
            AudioSource::None => AudioSource::Generated,
            other => other,
        };
        let output = work_dir.join("output.mp4");
        let args = ffmpeg::mux_audio_args(source, &audio, seconds, &output);
        let _permit = self
            .encodes
            .acquire()
            .await
            .map_err(|_| RenderError::Unavailable("renderer shut down".into()))?;
        ffmpeg::run(&self.settings.ffmpeg, &args, self.settings.timeout)
            .await
            .map_err(encode_error)?;
        Ok(output)
    }
}

fn fetch_error(field: &str, e: crate::net::FetchError) -> RenderError {
    if e.is_transient() {
        RenderError::Transient(format!("{field}: {e}"))
    } else {
        RenderError::Input(format!("{field}: {e}"))
    }
}

fn io_unavailable(e: std::io::Error) -> RenderError {
    RenderError::Unavailable(format!("local disk error: {e}"))
}

fn encode_error(e: FfmpegError) -> RenderError {
    match e {
        FfmpegError::NotInstalled => RenderError::Unavailable(e.to_string()),
        FfmpegError::Failed { .. } => RenderError::Input(format!("encoding failed: {e}")),
        other => RenderError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl Renderer for FfmpegRenderer {
    fn name(&self) -> &'static str {
        "ffmpeg"
    }

    fn catalogue(&self) -> &'static Catalogue {
        Catalogue::builtin()
    }

    async fn render(&self, job: RenderJob<'_>, work_dir: &Path) -> Result<Rendered, RenderError> {
        let file = match (job.video.kind, job.source_file) {
            (VideoKind::AudioUpdate, Some(source)) => {
                self.render_audio_update(job.video, source, work_dir)
                    .await?
            }
            (VideoKind::AudioUpdate, None) => {
                return Err(RenderError::Input(
                    "the source video no longer exists".into(),
                ))
            }
            _ => self.render_motion(job.video, work_dir).await?,
        };
        let duration = ffmpeg::duration(&self.settings.ffprobe, &file)
            .await
            .map_err(encode_error)?;
        Ok(Rendered { file, duration })
    }
}
