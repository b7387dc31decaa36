//! The `comfyui` render backend: real AI video (Wan, LTX-Video, ...) from a pool of ComfyUI
//! servers. Per job: upload the fetched image(s), fill the model's workflow, queue it on the
//! least busy server, follow it (websocket, `/history` as the fallback), download the output
//! node's file, and make the Akool output from it with the same ffmpeg rules as the built-in
//! renderer (exact size and length, H.264, soundtrack per `audio_type`).
//!
//! Failures: a refused workflow (`node_errors`) or an execution error fails the video with its
//! reason (and a refund); a server that is down, 5xx or refusing connections is passed over for
//! a while and the job tries the next one, and with none left it is a passing fault the worker
//! retries later. A job over its model's time limit, and a job whose render is dropped (lease
//! lost, shutdown), is interrupted and taken out of the server's queue.

mod client;
mod follow;
mod pool;
mod workflow;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;

pub use client::{output_files, validation_reason, ComfyClient, ComfyError, OutputFile};
pub use workflow::{Filled, Workflow};

use self::pool::{Pool, Slot};
use super::ffmpeg::{self, EncodeSpec, InputFile};
use super::frames;
use super::plan::output_size;
use super::reasons::{ffmpeg_error, io_unavailable};
use super::request::{ClipRequest, Soundtrack};
use super::{soundtrack, RenderError};
use crate::config::{ComfyModel, ComfyUi, Render};
use crate::domain::catalogue::{Model, Resolution, ResolutionOption};
use crate::domain::Video;

pub struct ComfyUiRenderer {
    models: HashMap<String, ModelJob>,
    /// The catalogue entries, in the order configured.
    catalogue: Vec<Model>,
    pool: Pool,
    settings: ComfyUi,
    render: Render,
}

/// How one configured model runs.
struct ModelJob {
    workflow: Workflow,
    fps: u32,
    timeout: Duration,
}

impl ComfyUiRenderer {
    /// The backend `[comfyui]` describes, its workflows loaded and checked; `None` when no model
    /// is configured. Errors name the config field. `taken` are model names already offered.
    pub fn from_config(
        settings: &ComfyUi,
        render: &Render,
        taken: &[&str],
    ) -> Result<Option<ComfyUiRenderer>, String> {
        settings.validate().map_err(|e| e.to_string())?;
        if settings.models.is_empty() {
            return Ok(None);
        }
        let http = client::http_client(settings.request_timeout);
        let mut servers = Vec::new();
        for (n, server) in settings.servers.iter().enumerate() {
            let client = ComfyClient::new(server, http.clone(), &format!("comfyui.servers[{n}]"))?;
            servers.push((client, server.max_jobs));
        }
        let mut models = HashMap::new();
        let mut catalogue = Vec::new();
        for (n, model) in settings.models.iter().enumerate() {
            let field = format!("comfyui.models[{n}]");
            if taken.contains(&model.name.as_str()) {
                return Err(format!(
                    "{field}.name: {:?} is a built-in model's name",
                    model.name
                ));
            }
            let workflow = Workflow::load(&settings.workflow_path(&model.workflow), model, &field)?;
            if model.supported_last_frame && !workflow.has_last_image() {
                return Err(format!(
                    "{field}.inputs.last_image must name the workflow's last-frame input when supported_last_frame = true"
                ));
            }
            catalogue.push(catalogue_entry(model, n, &field)?);
            models.insert(
                model.name.clone(),
                ModelJob {
                    workflow,
                    fps: model.fps,
                    timeout: Duration::from_secs(model.timeout_secs),
                },
            );
        }
        Ok(Some(ComfyUiRenderer {
            models,
            catalogue,
            pool: Pool::new(servers, settings.server_cooldown),
            settings: settings.clone(),
            render: render.clone(),
        }))
    }

    /// The models it renders, as the catalogue offers them.
    pub fn catalogue_models(&self) -> &[Model] {
        &self.catalogue
    }

    /// The frame rate of `model`, if this backend renders it.
    pub fn fps_of(&self, model: &str) -> Option<u32> {
        self.models.get(model).map(|m| m.fps)
    }

    pub fn renders(&self, model: &str) -> bool {
        self.models.contains_key(model)
    }

    /// Renders `clip` of `video` into `work_dir/output.mp4`.
    pub async fn render_clip(
        &self,
        video: &Video,
        clip: &ClipRequest<Bytes>,
        audio: &Soundtrack,
        work_dir: &Path,
    ) -> Result<PathBuf, RenderError> {
        let job = self.models.get(video.model.as_str()).ok_or_else(|| {
            RenderError::Input(format!(
                "model {} is no longer served by this server",
                video.model.as_str()
            ))
        })?;
        // A bad audio file or image is refused before it costs GPU time.
        let audio = soundtrack::audio_source(&self.render, audio, work_dir).await?;
        let (image_ext, width, height) = image_header(&clip.image, "image_url", &self.render)?;
        let last_ext = match &clip.last_image {
            Some(bytes) => Some(image_header(bytes, "last_image_url", &self.render)?.0),
            None => None,
        };
        let size = output_size(clip.resolution, width, height);
        let seconds = u32::try_from(video.video_length).unwrap_or(1).max(1);
        let prompt = match &video.effect {
            Some(effect) if video.prompt.trim().is_empty() => format!("camera: {}", effect.name),
            Some(effect) => format!("{} (camera: {})", video.prompt, effect.name),
            None => video.prompt.clone(),
        };
        let order = Order {
            video,
            job,
            clip,
            image_ext,
            last_ext,
            prompt: &prompt,
            width: generation_side(size.width),
            height: generation_side(size.height),
            frames: job.workflow.frames(seconds, job.fps),
        };
        let generated = self.generate(&order).await?;
        let input = work_dir.join("comfyui.output");
        tokio::fs::write(&input, &generated)
            .await
            .map_err(io_unavailable)?;
        let demuxer = ffmpeg::video_demuxer(&generated).ok_or_else(|| {
            RenderError::Input(
                "the ComfyUI workflow's output is not a video (MP4, WebM or GIF)".into(),
            )
        })?;
        let output = work_dir.join("output.mp4");
        let spec = EncodeSpec {
            width: size.width,
            height: size.height,
            fps: job.fps,
            seconds: f64::from(seconds),
            audio,
            preset: self.render.preset.clone(),
            crf: self.render.crf,
            output: output.clone(),
        };
        let args = ffmpeg::conform_args(&InputFile::video(input, demuxer), &spec);
        ffmpeg::run(&self.render.ffmpeg, &args, self.render.timeout)
            .await
            .map_err(|e| ffmpeg_error("encoding the generated video", e))?;
        Ok(output)
    }

    /// Runs `order` on a server, moving to the next one when a server fails; the output file.
    async fn generate(&self, order: &Order<'_>) -> Result<Bytes, RenderError> {
        let mut tried = Vec::new();
        let mut last_fault = None;
        while let Some(slot) = self.pool.slot(&tried).await {
            tried.push(slot.index);
            match self.run_on(&slot, order).await {
                Ok(bytes) => return Ok(bytes),
                Err(ComfyError::Rejected(reason)) => return Err(RenderError::Input(reason)),
                Err(ComfyError::Down(reason)) => {
                    tracing::warn!(server = %slot.client.label, reason = %reason, "ComfyUI server failed; trying another");
                    self.pool.rest(slot.index);
                    last_fault = Some(reason);
                }
            }
        }
        Err(RenderError::Transient(match last_fault {
            Some(reason) => format!("no ComfyUI server could take the job ({reason})"),
            None => "no ComfyUI server is available (all failed recently)".into(),
        }))
    }

    async fn run_on(&self, slot: &Slot, order: &Order<'_>) -> Result<Bytes, ComfyError> {
        let client = &slot.client;
        let video = order.video;
        let stem = format!("i2v-{}-{}", video.id.to_hex(), video.attempts);
        let image = client
            .upload_image(
                &format!("{stem}-first.{}", order.image_ext),
                order.clip.image.clone(),
            )
            .await?;
        let last_image = match (&order.clip.last_image, order.last_ext) {
            (Some(bytes), Some(ext)) => Some(
                client
                    .upload_image(&format!("{stem}-last.{ext}"), bytes.clone())
                    .await?,
            ),
            _ => None,
        };
        let graph = order.job.workflow.fill(&Filled {
            image: &image,
            last_image: last_image.as_deref(),
            prompt: order.prompt,
            negative_prompt: &video.negative_prompt,
            width: order.width,
            height: order.height,
            frames: order.frames,
            fps: order.job.fps,
            seed: seed_of(video),
        });
        let client_id = format!("i2v-{:016x}", rand::random::<u64>());
        let socket = follow::open_socket(client, &client_id, self.settings.request_timeout).await;
        let prompt_id = client.queue_prompt(&graph, &client_id).await?;
        tracing::info!(server = %client.label, prompt_id, frames = order.frames, "ComfyUI job queued");
        // From here on, a render that ends any other way than finishing (dropped on lease loss
        // or shutdown, timed out) stops the job on the server.
        let mut queued = Queued {
            client: client.clone(),
            prompt_id: prompt_id.clone(),
            done: false,
        };
        let followed = tokio::time::timeout(
            order.job.timeout,
            follow::follow(
                client,
                socket,
                &prompt_id,
                &order.job.workflow.output_node,
                self.settings.history_poll,
            ),
        )
        .await;
        let files = match followed {
            Err(_) => {
                return Err(ComfyError::Rejected(format!(
                    "the ComfyUI job took longer than the model's limit of {} s and was stopped",
                    order.job.timeout.as_secs()
                )))
            }
            Ok(Err(ComfyError::Rejected(reason))) => {
                queued.done = true;
                return Err(ComfyError::Rejected(reason));
            }
            Ok(result) => result?,
        };
        queued.done = true;
        let Some(file) = files.first() else {
            return Err(ComfyError::Rejected(format!(
                "the workflow finished but its output node {} wrote no file",
                order.job.workflow.output_node
            )));
        };
        client.view(file, self.settings.max_output_bytes).await
    }
}

/// One job's values, worked out once and tried on one server after another.
struct Order<'a> {
    video: &'a Video,
    job: &'a ModelJob,
    clip: &'a ClipRequest<Bytes>,
    image_ext: &'static str,
    last_ext: Option<&'static str>,
    prompt: &'a str,
    width: u32,
    height: u32,
    frames: u32,
}

/// A queued prompt that is stopped on the server unless it ended by itself.
struct Queued {
    client: ComfyClient,
    prompt_id: String,
    done: bool,
}

impl Drop for Queued {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (client, prompt_id) = (self.client.clone(), std::mem::take(&mut self.prompt_id));
        tracing::info!(server = %client.label, prompt_id, "stopping the ComfyUI job");
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { client.cancel(&prompt_id).await });
        }
    }
}

/// The size the model is asked for: the output side rounded down to a multiple of 32, which
/// Wan 2.2 5B and LTX-Video need (their latents are 1/32 of the frame; ComfyUI does not check
/// it, the model would floor it anyway). 1280x720 asks for 1280x704 and 854x480 for 832x480,
/// Wan's own sizes; ffmpeg then fits the result into the exact output frame.
fn generation_side(side: u32) -> u32 {
    ((side / 32) * 32).max(32)
}

/// The same seed for every attempt of a video, so a retry makes the same clip.
fn seed_of(video: &Video) -> u64 {
    let hex = video.id.to_hex();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in hex.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    // Within JavaScript's exact integers: ComfyUI's own front end shows seeds as such.
    hash & ((1 << 53) - 1)
}

/// An image's file extension and upright size from its header (nothing decoded), refused as the
/// built-in renderer refuses it (`frames::inspect`): not PNG, JPEG or WebP, or over
/// `render.max_image_pixels`.
fn image_header(
    bytes: &Bytes,
    field: &str,
    render: &Render,
) -> Result<(&'static str, u32, u32), RenderError> {
    let (format, width, height) = frames::inspect(bytes, render.max_image_pixels)
        .map_err(|e| RenderError::Input(format!("{field}: {e}")))?;
    let ext = match format {
        image::ImageFormat::Png => "png",
        image::ImageFormat::WebP => "webp",
        _ => "jpg",
    };
    Ok((ext, width, height))
}

/// A configured model as the catalogue offers it. Strings and lists live as long as the
/// process (the catalogue is built once, at start-up).
fn catalogue_entry(model: &ComfyModel, n: usize, field: &str) -> Result<Model, String> {
    let mut resolutions = Vec::new();
    for (name, credits) in &model.resolutions {
        let resolution = Resolution::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Resolution::ALL.iter().map(|r| r.value()).collect();
            format!(
                "{field}.resolutions: {name:?} is not one of {}",
                known.join(", ")
            )
        })?;
        resolutions.push(ResolutionOption::priced(resolution, *credits));
    }
    resolutions.sort_by_key(|r| r.resolution.area());
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let label = if model.label.is_empty() {
        &model.name
    } else {
        &model.label
    };
    let provider = if model.provider.is_empty() {
        "comfyui"
    } else {
        &model.provider
    };
    Ok(Model {
        value: leak(&model.name),
        label: leak(label),
        description: leak(&format!(
            "Generated by a ComfyUI workflow ({})",
            model
                .workflow
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
        )),
        provider: leak(provider),
        group: leak(provider),
        // Below the built-in models: a batch without `model_name` keeps the built-in default.
        sort: 80 - n as i64,
        resolutions: Box::leak(resolutions.into_boxed_slice()),
        durations: Box::leak(model.durations.clone().into_boxed_slice()),
        is_pro: false,
        requires_pay: false,
        generate_audio: None,
        supports_last_frame: model.supported_last_frame,
        supports_extend_prompt: false,
        max_count: 10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_sizes_are_multiples_of_32_at_most_the_output() {
        assert_eq!(generation_side(1280), 1280);
        assert_eq!(generation_side(720), 704);
        assert_eq!(generation_side(854), 832);
        assert_eq!(generation_side(1080), 1056);
        assert_eq!(generation_side(3), 32);
    }

    #[test]
    fn images_are_refused_from_their_header_as_the_built_in_renderer_refuses_them() {
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(64, 48)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let png = Bytes::from(png.into_inner());
        let render = Render::default();
        assert_eq!(
            image_header(&png, "image_url", &render).unwrap(),
            ("png", 64, 48)
        );
        let gif = Bytes::from_static(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
        let err = image_header(&gif, "image_url", &render)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "image_url: unsupported image format: only PNG, JPEG and WebP are accepted"
        );
        let small = Render {
            max_image_pixels: 1000,
            ..Render::default()
        };
        let err = image_header(&png, "last_image_url", &small)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "last_image_url: image is too large: 64x48 (at most 1000 pixels)"
        );
    }

    #[test]
    fn unknown_resolutions_are_refused_naming_the_field() {
        let mut model = workflow::tests::model(Default::default());
        model.resolutions = [("360p".to_string(), 2)].into();
        let err = catalogue_entry(&model, 0, "comfyui.models[0]").unwrap_err();
        assert_eq!(
            err,
            "comfyui.models[0].resolutions: \"360p\" is not one of 480p, 720p, 1080p, 4k"
        );
        model.resolutions = [("720p".to_string(), 6), ("480p".to_string(), 4)].into();
        let entry = catalogue_entry(&model, 1, "comfyui.models[1]").unwrap();
        let offered: Vec<(&str, i64)> = entry
            .resolutions
            .iter()
            .map(|r| (r.value, r.unit_credit))
            .collect();
        assert_eq!(offered, [("480p", 4), ("720p", 6)]);
        assert_eq!((entry.provider, entry.sort), ("wan", 79));
    }
}
