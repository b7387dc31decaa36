//! The soundtrack of a render, as every backend adds it: none, i2v's generated one, or a
//! user's audio file, which must be a plain audio container with an audio track (sniffed, then
//! probed under the same restrictions as ffmpeg).

use std::path::Path;

use super::ffmpeg::{self, AudioFormat, AudioSource, FfmpegError, InputFile};
use super::reasons::{ffmpeg_error, io_unavailable, log_ffmpeg};
use super::request::Soundtrack;
use super::RenderError;
use crate::config::Render;

/// The soundtrack to encode. Audio from a URL must be a plain audio container with an audio
/// stream (checked by sniffing, then by ffprobe under the same restrictions as ffmpeg).
pub async fn audio_source(
    settings: &Render,
    audio: &Soundtrack,
    work_dir: &Path,
) -> Result<AudioSource, RenderError> {
    let bytes = match audio {
        Soundtrack::None => return Ok(AudioSource::None),
        Soundtrack::Generated => return Ok(AudioSource::Generated),
        Soundtrack::File(bytes) => bytes,
    };
    let format = AudioFormat::sniff(bytes).ok_or_else(|| {
        RenderError::Input(format!(
            "audio_url: not a supported audio file ({})",
            AudioFormat::ACCEPTED
        ))
    })?;
    let path = work_dir.join("audio.input");
    tokio::fs::write(&path, bytes)
        .await
        .map_err(io_unavailable)?;
    let file = InputFile::audio(path, format);
    let streams = ffmpeg::audio_streams(&settings.ffprobe, &file, settings.timeout).await;
    match streams {
        Ok(0) => Err(RenderError::Input(
            "audio_url: the file has no audio track".into(),
        )),
        Ok(_) => Ok(AudioSource::File(file)),
        Err(e @ (FfmpegError::Probe(_) | FfmpegError::Failed { .. })) => {
            log_ffmpeg("probing audio_url", &e);
            Err(RenderError::Input(
                "audio_url: the audio could not be decoded".into(),
            ))
        }
        Err(e) => Err(ffmpeg_error("probing audio_url", e)),
    }
}
