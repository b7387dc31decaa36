//! Create requests parsed into a `VideoSpec`: everything a render needs, already validated
//! against the catalogue and priced. Both create endpoints end here, so one set of rules holds.

use serde_json::Value;

mod common;

use common::{audio_type, common_fields, finish, no_nul};

use super::catalogue::{Catalogue, Effect, Model, ResolutionOption};
use super::fields::{http_url, FieldError, Fields};
use super::file_name::file_name_text;
// Part of this module's answer (`VideoSpec::audio_type`); defined with the video it ends up in.
pub use super::video::AudioType;

pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_PROMPT_CHARS: usize = 5000;
pub const MAX_NEGATIVE_PROMPT_CHARS: usize = 1000;
/// Akool's example file names keep the first 24 characters of the prompt.
pub(crate) const FILE_NAME_PROMPT_CHARS: usize = 24;

#[derive(Clone, Debug)]
pub struct VideoSpec {
    pub model: &'static Model,
    pub resolution: &'static ResolutionOption,
    pub video_length: i64,
    pub image_url: String,
    pub last_image_url: Option<String>,
    pub prompt: String,
    pub negative_prompt: String,
    pub extend_prompt: bool,
    pub audio_type: AudioType,
    pub audio_url: String,
    pub generate_audio: bool,
    pub is_premium_model: bool,
    pub effect: Option<&'static Effect>,
    pub webhook_url: String,
    /// Credits for one video of this spec.
    pub price: i64,
}

impl VideoSpec {
    /// `"Image2Video_"` + the first 24 characters of the prompt (or the effect's name) + `.mp4`,
    /// without the characters [`file_name_text`] leaves out.
    pub fn file_name(&self) -> String {
        let prompt = file_name_text(&self.prompt);
        let source = match (prompt.trim().is_empty(), self.effect) {
            (true, Some(effect)) => file_name_text(effect.name),
            _ => prompt,
        };
        let head: String = source.chars().take(FILE_NAME_PROMPT_CHARS).collect();
        format!("Image2Video_{head}.mp4")
    }
}

/// `createBySourcePrompt`: the fixed single-endpoint model, 720p/1080p/4k, 5 or 10 seconds.
pub fn parse_single(body: &Value, catalogue: &Catalogue) -> Result<VideoSpec, FieldError> {
    let f = Fields::of(body)?;
    let model = catalogue.single_model();
    let resolution_value = f.required_string("resolution")?;
    let resolution = model.resolution(resolution_value).ok_or_else(|| {
        FieldError(format!(
            "resolution must be one of {}",
            list(model.resolutions.iter().map(|r| r.value))
        ))
    })?;
    let audio_type = audio_type(&f, true)?;
    let common = common_fields(&f, catalogue, model)?;
    if f.has("last_image_url") && !f.string("last_image_url")?.unwrap_or("").is_empty() {
        return Err(FieldError::new(
            "last_image_url is only accepted by the batch endpoint",
        ));
    }
    finish(common, model, resolution, audio_type, false, None)
}

/// `createBySourcePrompt/batch`: model-driven; returns the spec and how many videos to make.
pub fn parse_batch(body: &Value, catalogue: &Catalogue) -> Result<(VideoSpec, i64), FieldError> {
    let f = Fields::of(body)?;
    let model = match f.string("model_name")?.filter(|s| !s.is_empty()) {
        None => catalogue.default_model(),
        Some(name) => catalogue.model(name).ok_or_else(|| {
            FieldError(format!(
                "model_name must be one of {}",
                list(catalogue.models.iter().map(|m| m.value))
            ))
        })?,
    };
    let resolution_value = f.string("resolution")?.filter(|s| !s.is_empty());
    let resolution = match resolution_value {
        None => return Err(FieldError::new("resolution is required")),
        Some(value) => model.resolution(value).ok_or_else(|| {
            FieldError(format!(
                "resolution must be one of {} for model {}",
                list(model.resolutions.iter().map(|r| r.value)),
                model.value
            ))
        })?,
    };
    let count = f.int("count")?.unwrap_or(1);
    if !(1..=model.max_count).contains(&count) {
        return Err(FieldError(format!(
            "count must be between 1 and {} for model {}",
            model.max_count, model.value
        )));
    }
    if f.has("multi_prompt") {
        return Err(FieldError(format!(
            "multi_prompt is not supported by model {}",
            model.value
        )));
    }
    let audio_type = audio_type(&f, false)?;
    let generate_audio =
        f.bool("generate_audio")?.unwrap_or(false) && model.generate_audio.is_some();
    let last_image_url = match f.string("last_image_url")?.filter(|s| !s.is_empty()) {
        None => None,
        Some(_) if !model.supports_last_frame => {
            return Err(FieldError(format!(
                "last_image_url is not supported by model {}",
                model.value
            )))
        }
        Some(url) => {
            http_url("last_image_url", url, MAX_URL_CHARS)?;
            no_nul("last_image_url", url)?;
            Some(url.to_owned())
        }
    };
    let common = common_fields(&f, catalogue, model)?;
    let spec = finish(
        common,
        model,
        resolution,
        audio_type,
        generate_audio,
        last_image_url,
    )?;
    Ok((spec, count))
}

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
