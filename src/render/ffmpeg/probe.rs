//! Asking ffprobe about a file: its duration and how many usable audio streams it has.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::args::{audio_streams_args, probe_args};
use super::error::FfmpegError;
use super::input::InputFile;
use super::process::{spawn_error, tail};

/// Audio streams with a sample rate and channels in ffprobe's JSON: a demuxer handed bytes that
/// are not its format may still announce an empty stream.
fn usable_audio_streams(json: &str) -> Result<usize, FfmpegError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| FfmpegError::Probe(e.to_string()))?;
    let positive = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.parse::<u64>().is_ok_and(|n| n > 0),
        other => other.as_u64().is_some_and(|n| n > 0),
    };
    let streams = value["streams"]
        .as_array()
        .map_or(&[][..], |s| s.as_slice());
    Ok(streams
        .iter()
        .filter(|s| {
            s["codec_type"] == "audio" && positive(&s["sample_rate"]) && positive(&s["channels"])
        })
        .count())
}

/// Runs ffprobe within `timeout`; its stdout when it succeeds.
async fn probe(ffprobe: &str, args: &[String], timeout: Duration) -> Result<String, FfmpegError> {
    let run = Command::new(ffprobe)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| FfmpegError::TimedOut(timeout))?
        .map_err(spawn_error)?;
    if !out.status.success() {
        return Err(FfmpegError::Probe(format!(
            "{}: {}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr))
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The container duration of `file` in seconds, from ffprobe.
pub async fn duration(
    ffprobe: &str,
    file: &InputFile,
    timeout: Duration,
) -> Result<f64, FfmpegError> {
    let text = probe(ffprobe, &probe_args(file), timeout).await?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| FfmpegError::Probe(format!("no duration in {:?}", text.trim())))
}

/// How many decodable audio streams ffprobe finds in `file`.
pub async fn audio_streams(
    ffprobe: &str,
    file: &InputFile,
    timeout: Duration,
) -> Result<usize, FfmpegError> {
    let text = probe(ffprobe, &audio_streams_args(file), timeout).await?;
    usable_audio_streams(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_audio_streams_with_a_rate_and_channels_count() {
        let json = r#"{"streams": [
            {"codec_type": "audio", "sample_rate": "44100", "channels": 2},
            {"codec_type": "audio", "sample_rate": "0", "channels": 0},
            {"codec_type": "audio", "channels": 1},
            {"codec_type": "video"}
        ]}"#;
        assert_eq!(usable_audio_streams(json).unwrap(), 1);
        assert_eq!(usable_audio_streams("{}").unwrap(), 0);
        assert!(usable_audio_streams("not json").is_err());
    }
}
