//! `[render]`: the built-in ffmpeg renderer and the limits on what it is given.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::error::{invalid, ConfigError};

/// The default cap on a source's width * height (`render.max_image_pixels`).
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 50_000_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Render {
    pub fps: u32,
    /// x264 preset (ultrafast .. veryslow) and constant rate factor.
    pub preset: String,
    pub crf: u32,
    /// Upper bound on one ffmpeg or ffprobe run.
    #[serde(rename = "timeout_secs", with = "duration::secs")]
    pub timeout: Duration,
    pub max_image_bytes: u64,
    pub max_audio_bytes: u64,
    /// Largest image accepted, in pixels (width * height), refused from its header before
    /// decoding; a decode may also use up to 4 bytes per pixel of it (16-bit images count double).
    pub max_image_pixels: u64,
    /// Images decoded at once in this process; each holds its full-size pixels while decoding.
    pub max_concurrent_decodes: usize,
    /// Programs to run; plain names are looked up on PATH.
    pub ffmpeg: String,
    pub ffprobe: String,
}

impl Default for Render {
    fn default() -> Self {
        Render {
            fps: 24,
            preset: "veryfast".into(),
            crf: 20,
            timeout: Duration::from_secs(600),
            max_image_bytes: 20 * 1024 * 1024,
            max_audio_bytes: 50 * 1024 * 1024,
            max_image_pixels: DEFAULT_MAX_IMAGE_PIXELS,
            max_concurrent_decodes: 1,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
        }
    }
}

impl Render {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=120).contains(&self.fps) {
            return invalid("render.fps must be between 1 and 120");
        }
        if self.crf > 51 {
            return invalid("render.crf must be between 0 and 51");
        }
        if self.max_image_pixels == 0 || self.max_concurrent_decodes == 0 {
            return invalid(
                "render.max_image_pixels and render.max_concurrent_decodes must be positive",
            );
        }
        Ok(())
    }
}
