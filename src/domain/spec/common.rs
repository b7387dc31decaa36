//! The rules both create endpoints share: the common fields, `audio_type`, and the final
//! checks and price.

use super::{
    list, AudioType, VideoSpec, MAX_NEGATIVE_PROMPT_CHARS, MAX_PROMPT_CHARS, MAX_URL_CHARS,
};
use crate::domain::catalogue::{Catalogue, Effect, Model, ResolutionOption};
use crate::domain::fields::{http_url, max_chars, FieldError, Fields};

pub(super) struct Common {
    image_url: String,
    prompt: String,
    negative_prompt: String,
    extend_prompt: bool,
    audio_url: String,
    video_length: i64,
    is_premium_model: bool,
    effect: Option<&'static Effect>,
    webhook_url: String,
}

pub(super) fn common_fields(
    f: &Fields,
    catalogue: &Catalogue,
    model: &Model,
) -> Result<Common, FieldError> {
    let image_url = f.required_string("image_url")?;
    http_url("image_url", image_url, MAX_URL_CHARS)?;
    no_nul("image_url", image_url)?;

    let effect = match f.string("effect_code")?.filter(|s| !s.is_empty()) {
        None => None,
        Some(code) => Some(catalogue.effect(code).ok_or_else(|| {
            FieldError(format!(
                "effect_code {code} is not in the effects list (GET /api/open/v4/image2Video/effects)"
            ))
        })?),
    };
    // With an effect the prompt is disregarded (spec §4.1), so it may then be left out.
    let prompt = match effect {
        Some(_) => f.string("prompt")?.unwrap_or(""),
        None => f.required_string("prompt")?,
    };
    max_chars("prompt", prompt, MAX_PROMPT_CHARS)?;
    no_nul("prompt", prompt)?;
    let negative_prompt = f.string("negative_prompt")?.unwrap_or("");
    max_chars(
        "negative_prompt",
        negative_prompt,
        MAX_NEGATIVE_PROMPT_CHARS,
    )?;
    no_nul("negative_prompt", negative_prompt)?;

    let video_length = f.required_int("video_length")?;
    if !model.durations.contains(&video_length) {
        return Err(FieldError(format!(
            "video_length must be one of {} seconds",
            list(model.durations.iter())
        )));
    }

    let audio_url = f.string("audio_url")?.unwrap_or("");
    if !audio_url.is_empty() {
        http_url("audio_url", audio_url, MAX_URL_CHARS)?;
        no_nul("audio_url", audio_url)?;
    }

    // Akool's request field is `webhookurl`; its notes spell it `webhookUrl`, so accept both.
    let webhook_url = match f.string("webhookurl")? {
        Some(url) => url,
        None => f.string("webhookUrl")?.unwrap_or(""),
    };
    if !webhook_url.is_empty() {
        http_url("webhookurl", webhook_url, MAX_URL_CHARS)?;
        no_nul("webhookurl", webhook_url)?;
    }

    Ok(Common {
        image_url: image_url.to_owned(),
        prompt: prompt.to_owned(),
        negative_prompt: negative_prompt.to_owned(),
        extend_prompt: f.bool("extend_prompt")?.unwrap_or(false),
        audio_url: audio_url.to_owned(),
        video_length,
        is_premium_model: f.bool("is_premium_model")?.unwrap_or(false),
        effect,
        webhook_url: webhook_url.to_owned(),
    })
}

/// `audio_type` is required on the single endpoint; batch defaults to no audio.
pub(super) fn audio_type(f: &Fields, required: bool) -> Result<AudioType, FieldError> {
    let code = if required {
        f.required_int("audio_type")?
    } else {
        match f.int("audio_type")? {
            Some(code) => code,
            None => return Ok(AudioType::None),
        }
    };
    AudioType::from_code(code).ok_or_else(|| {
        FieldError::new("audio_type must be 1 (generated), 2 (from audio_url) or 3 (none)")
    })
}

pub(super) fn finish(
    c: Common,
    model: &'static Model,
    resolution: &'static ResolutionOption,
    audio_type: AudioType,
    generate_audio: bool,
    last_image_url: Option<String>,
) -> Result<VideoSpec, FieldError> {
    if audio_type == AudioType::FromUrl && c.audio_url.is_empty() {
        return Err(FieldError::new(
            "audio_url is required when audio_type is 2",
        ));
    }
    let price = model.price(resolution, c.video_length, generate_audio);
    Ok(VideoSpec {
        model,
        resolution,
        video_length: c.video_length,
        image_url: c.image_url,
        last_image_url,
        prompt: c.prompt,
        negative_prompt: c.negative_prompt,
        extend_prompt: c.extend_prompt && model.supports_extend_prompt,
        audio_type,
        audio_url: c.audio_url,
        generate_audio,
        is_premium_model: c.is_premium_model,
        effect: c.effect,
        webhook_url: c.webhook_url,
        price,
    })
}

/// Stored text may not hold U+0000: PostgreSQL `TEXT` cannot, so without this check the same
/// request would be stored on SQLite and fail with a server error on PostgreSQL. (The URL
/// parser accepts a NUL, percent-encoding it, but URLs are stored as sent.)
pub(super) fn no_nul(name: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        return Err(FieldError(format!(
            "{name} must not contain NUL (U+0000) characters"
        )));
    }
    Ok(())
}
