//! The render backends a server runs, chosen per model: the built-in renderer for its own
//! models and for audio updates, the `comfyui` backend for the models of `[[comfyui.models]]`.
//! One catalogue holds them all, so the model list, create validation and the workers agree.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::builtin::measured;
use super::comfyui::ComfyUiRenderer;
use super::request::RenderWork;
use super::{FfmpegRenderer, RenderError, RenderJob, Rendered, Renderer};
use crate::config::Config;
use crate::domain::catalogue::Catalogue;

/// The renderer `config` asks for: the built-in one alone, or with ComfyUI models beside it.
/// Errors (a missing workflow file, an unknown input node, ...) name the config field.
pub fn renderer_for(config: &Config) -> anyhow::Result<Arc<dyn Renderer>> {
    let builtin = FfmpegRenderer::new(config.render.clone(), config.worker_count().max(1));
    let own: Vec<&str> = builtin.catalogue().models.iter().map(|m| m.value).collect();
    let comfyui = ComfyUiRenderer::from_config(&config.comfyui, &config.render, &own)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(match comfyui {
        None => Arc::new(builtin),
        Some(comfyui) => Arc::new(Backends::new(builtin, comfyui)),
    })
}

pub struct Backends {
    builtin: FfmpegRenderer,
    comfyui: ComfyUiRenderer,
    catalogue: &'static Catalogue,
}

impl Backends {
    pub fn new(builtin: FfmpegRenderer, comfyui: ComfyUiRenderer) -> Backends {
        let catalogue = builtin.catalogue().with_models(comfyui.catalogue_models());
        Backends {
            builtin,
            comfyui,
            catalogue,
        }
    }
}

#[async_trait]
impl Renderer for Backends {
    fn name(&self) -> &'static str {
        "ffmpeg+comfyui"
    }

    fn catalogue(&self) -> &'static Catalogue {
        self.catalogue
    }

    fn fps(&self, model: &str) -> u32 {
        self.comfyui
            .fps_of(model)
            .unwrap_or_else(|| self.builtin.fps(model))
    }

    async fn render(&self, job: RenderJob<'_>, work_dir: &Path) -> Result<Rendered, RenderError> {
        match &job.request.work {
            RenderWork::Clip(clip) if self.comfyui.renders(job.video.model.as_str()) => {
                let file = self
                    .comfyui
                    .render_clip(job.video, clip, &job.request.audio, work_dir)
                    .await?;
                measured(self.builtin.settings(), file).await
            }
            _ => self.builtin.render(job, work_dir).await,
        }
    }
}
