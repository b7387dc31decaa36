//! The built-in renderer: decode the image(s) the worker fetched, draw the camera motion in Rust,
//! pipe raw frames to ffmpeg, add the soundtrack, measure the result. Deterministic: the same
//! inputs give the same frames.
//!
//! Everything a user supplied is untrusted: images are decoded in Rust (never by ffmpeg), one at
//! a time per decode permit and shrunk at once to what the output needs; audio reaches ffmpeg
//! only as a sniffed, plain audio container read by that container's demuxer alone (see
//! `ffmpeg`). Reasons shown to users carry no server path and no ffmpeg output; those go to the
//! log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, Semaphore};

use super::ffmpeg::{self, EncodeSpec, InputFile};
use super::frames::{self, FrameRenderer, SourceImage};
use super::plan::{output_size, OutputSize, RenderPlan};
use super::reasons::ffmpeg_error;
use super::request::{ClipRequest, RenderWork, Soundtrack};
use super::soundtrack;
use super::{RenderError, RenderJob, Rendered, Renderer};
use crate::config::Render;
use crate::domain::catalogue::{Catalogue, Resolution};

pub struct FfmpegRenderer {
    settings: Render,
    encodes: Semaphore,
    /// Owned permits, so that a decode keeps its permit until it really ends even when the
    /// render that asked for it is dropped.
    decodes: Arc<Semaphore>,
    /// One render larger than 1080p at a time: a 4k render holds a ~100 MB working image and
    /// 25 MB frames, so two at once would take the process past the memory bound of two renders
    /// of any other size.
    large_renders: Semaphore,
}

impl FfmpegRenderer {
    /// `max_concurrent`: most ffmpeg processes at once.
    pub fn new(settings: Render, max_concurrent: usize) -> FfmpegRenderer {
        let encodes = Semaphore::new(max_concurrent.max(1));
        let decodes = Arc::new(Semaphore::new(settings.max_concurrent_decodes.max(1)));
        FfmpegRenderer {
            settings,
            encodes,
            decodes,
            large_renders: Semaphore::new(1),
        }
    }

    pub fn settings(&self) -> &Render {
        &self.settings
    }

    /// Waits for the large-render turn when `resolution` is larger than 1080p.
    async fn large_render_turn(
        &self,
        resolution: Resolution,
    ) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, RenderError> {
        if resolution.area() <= Resolution::P1080.area() {
            return Ok(None);
        }
        self.large_renders
            .acquire()
            .await
            .map(Some)
            .map_err(|_| RenderError::Unavailable("renderer shut down".into()))
    }

    /// Decodes the image in `bytes` under a decode permit, shrunk to what `fit` asks for.
    async fn decode_image(
        &self,
        field: &'static str,
        bytes: &Bytes,
        fit: impl FnOnce(u32, u32) -> (u32, u32) + Send + 'static,
    ) -> Result<SourceImage, RenderError> {
        let bytes = bytes.clone();
        let permit = self
            .decodes
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RenderError::Unavailable("renderer shut down".into()))?;
        let max_pixels = self.settings.max_image_pixels;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            frames::decode(&bytes, max_pixels, fit)
        })
        .await
        .map_err(|e| {
            tracing::warn!(field, error = %e, "image decoding stopped");
            RenderError::Unavailable(format!("{field}: image decoding stopped unexpectedly"))
        })?
        .map_err(|e| RenderError::Input(format!("{field}: {e}")))
    }

    async fn render_motion(
        &self,
        clip: &ClipRequest<Bytes>,
        audio: &Soundtrack,
        work_dir: &Path,
    ) -> Result<PathBuf, RenderError> {
        // A bad audio file is refused before it costs a decode.
        let audio = soundtrack::audio_source(&self.settings, audio, work_dir).await?;
        let _turn = self.large_render_turn(clip.resolution).await?;
        let resolution = clip.resolution;
        let first = self
            .decode_image("image_url", &clip.image, move |w, h| {
                output_size(resolution, w, h).working_size(w, h)
            })
            .await?;
        let (src_w, src_h) = first.source_size();
        let size = output_size(clip.resolution, src_w, src_h);
        let last = match &clip.last_image {
            None => None,
            Some(bytes) => Some(
                self.decode_image("last_image_url", bytes, move |w, h| {
                    OutputSize::cover_fit_size(size, w, h)
                })
                .await?,
            ),
        };
        let plan = RenderPlan {
            size,
            fps: clip.fps,
            frame_count: clip.frame_count,
            motion: clip.motion,
            has_last_image: last.is_some(),
        };
        let output = work_dir.join("output.mp4");
        let spec = EncodeSpec {
            width: size.width,
            height: size.height,
            fps: clip.fps,
            seconds: clip.seconds,
            audio,
            preset: self.settings.preset.clone(),
            crf: self.settings.crf,
            output: output.clone(),
        };
        let frame_len = size.width as usize * size.height as usize * 3;
        let (tx, rx) = mpsc::channel::<Vec<u8>>(frame_queue_len(frame_len));
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
        let produced = producer.await.map_err(|e| {
            tracing::warn!(error = %e, "frame drawing stopped");
            RenderError::Unavailable("frame drawing stopped unexpectedly".into())
        })?;
        encoded.map_err(|e| ffmpeg_error("encoding", e))?;
        produced.map_err(|e| RenderError::Unavailable(format!("frame drawing failed: {e}")))?;
        Ok(output)
    }

    async fn render_audio_update(
        &self,
        audio: &Soundtrack,
        source: &Path,
        work_dir: &Path,
    ) -> Result<PathBuf, RenderError> {
        let source = InputFile::mp4(source.to_path_buf());
        let seconds = ffmpeg::duration(&self.settings.ffprobe, &source, self.settings.timeout)
            .await
            .map_err(|e| ffmpeg_error("reading the source video", e))?;
        let audio = soundtrack::audio_source(&self.settings, audio, work_dir).await?;
        let output = work_dir.join("output.mp4");
        let args = ffmpeg::mux_audio_args(&source, &audio, seconds, &output);
        let _permit = self
            .encodes
            .acquire()
            .await
            .map_err(|_| RenderError::Unavailable("renderer shut down".into()))?;
        ffmpeg::run(&self.settings.ffmpeg, &args, self.settings.timeout)
            .await
            .map_err(|e| ffmpeg_error("encoding", e))?;
        Ok(output)
    }
}

/// Frames drawn ahead of the encoder: a few keep both busy, but a 4k frame is 25 MB.
fn frame_queue_len(frame_len: usize) -> usize {
    const QUEUE_BYTES: usize = 32 * 1024 * 1024;
    (QUEUE_BYTES / frame_len.max(1)).clamp(1, 4)
}

#[async_trait]
impl Renderer for FfmpegRenderer {
    fn name(&self) -> &'static str {
        "ffmpeg"
    }

    fn catalogue(&self) -> &'static Catalogue {
        Catalogue::builtin()
    }

    fn fps(&self, _model: &str) -> u32 {
        self.settings.fps
    }

    async fn render(&self, job: RenderJob<'_>, work_dir: &Path) -> Result<Rendered, RenderError> {
        let audio = &job.request.audio;
        let file = match (&job.request.work, job.source_file) {
            (RenderWork::Clip(clip), _) => self.render_motion(clip, audio, work_dir).await?,
            (RenderWork::AudioUpdate, Some(source)) => {
                self.render_audio_update(audio, source, work_dir).await?
            }
            (RenderWork::AudioUpdate, None) => {
                return Err(RenderError::Input(
                    "the source video no longer exists".into(),
                ))
            }
        };
        measured(&self.settings, file).await
    }
}

/// `file` with its length, as ffprobe reads it.
pub(super) async fn measured(settings: &Render, file: PathBuf) -> Result<Rendered, RenderError> {
    let duration = ffmpeg::duration(
        &settings.ffprobe,
        &InputFile::mp4(file.clone()),
        settings.timeout,
    )
    .await
    .map_err(|e| ffmpeg_error("measuring the output", e))?;
    Ok(Rendered { file, duration })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn png(width: u32, height: u32) -> Bytes {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encoding a PNG in memory");
        Bytes::from(out.into_inner())
    }

    #[test]
    fn the_frame_queue_holds_a_few_frames_but_one_4k_frame() {
        assert_eq!(frame_queue_len(1280 * 720 * 3), 4);
        assert_eq!(frame_queue_len(1920 * 1080 * 3), 4);
        assert_eq!(frame_queue_len(3840 * 2160 * 3), 1);
        assert_eq!(frame_queue_len(0), 4);
    }

    #[tokio::test]
    async fn renders_larger_than_1080p_take_turns() {
        let renderer = FfmpegRenderer::new(Render::default(), 2);
        let first = renderer.large_render_turn(Resolution::K4).await.unwrap();
        assert!(first.is_some());
        assert!(
            renderer
                .large_render_turn(Resolution::P1080)
                .await
                .unwrap()
                .is_none(),
            "1080p and smaller never wait"
        );
        let second = renderer.large_render_turn(Resolution::K4);
        tokio::pin!(second);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), &mut second)
                .await
                .is_err(),
            "a second 4k render started while one was running"
        );
        drop(first);
        let turn = tokio::time::timeout(Duration::from_secs(30), second)
            .await
            .expect("the second 4k render goes once the first is done")
            .unwrap();
        assert!(turn.is_some());
    }

    #[tokio::test]
    async fn decodes_wait_for_a_decode_permit() {
        let renderer = FfmpegRenderer::new(Render::default(), 2);
        let bytes = png(64, 48);
        let held = renderer.decodes.clone().acquire_owned().await.unwrap();
        let waiting = renderer.decode_image("image_url", &bytes, |w, h| (w, h));
        tokio::pin!(waiting);
        // With the only permit held, the decode cannot start, however long it is given.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), &mut waiting)
                .await
                .is_err(),
            "decoded without a permit"
        );
        drop(held);
        let image = tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .expect("the decode runs once the permit is free")
            .unwrap();
        assert_eq!((image.width(), image.height()), (64, 48));
        assert_eq!(renderer.decodes.available_permits(), 1, "permit returned");
    }

    #[tokio::test]
    async fn images_over_the_pixel_cap_are_refused_with_a_reason() {
        let renderer = FfmpegRenderer::new(
            Render {
                max_image_pixels: 1000,
                ..Render::default()
            },
            2,
        );
        let err = renderer
            .decode_image("image_url", &png(64, 48), |w, h| (w, h))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RenderError::Input(r) if r == "image_url: image is too large: 64x48 (at most 1000 pixels)"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn decoded_images_are_shrunk_to_the_working_size() {
        let renderer = FfmpegRenderer::new(Render::default(), 2);
        let size = output_size(Resolution::P720, 4000, 3000);
        let image = renderer
            .decode_image("image_url", &png(4000, 3000), move |w, h| {
                size.working_size(w, h)
            })
            .await
            .unwrap();
        // 720p needs 1.5 x 1280 = 1920 columns of the 4000 x 2250 cover crop.
        assert_eq!((image.width(), image.height()), (1920, 1440));
        assert_eq!(image.source_size(), (4000, 3000));
    }
}
