//! What a failed ffmpeg or ffprobe run reports: safe to show a user, with the detail for the
//! log kept apart.

use std::time::Duration;

/// The `Display` of every variant is safe to show a user: no path, no stderr, no address. The
/// rest is in [`FfmpegError::detail`], for the log.
#[derive(Debug, thiserror::Error)]
pub enum FfmpegError {
    #[error("ffmpeg is not installed (apt-get install ffmpeg)")]
    NotInstalled,
    #[error("ffmpeg failed ({status})")]
    Failed { status: String, stderr_tail: String },
    #[error("ffmpeg timed out after {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error("ffmpeg could not be run")]
    Io(String),
    #[error("ffprobe could not read the file")]
    Probe(String),
}

impl FfmpegError {
    /// What the process said, for the log only: may hold server paths and memory addresses.
    pub fn detail(&self) -> &str {
        match self {
            FfmpegError::Failed { stderr_tail, .. } => stderr_tail,
            FfmpegError::Io(detail) | FfmpegError::Probe(detail) => detail,
            FfmpegError::NotInstalled | FfmpegError::TimedOut(_) => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_no_stderr_and_no_path() {
        let failed = FfmpegError::Failed {
            status: "exit status: 1".into(),
            stderr_tail: "[http @ 0x55aa12345678] /data/tmp/render-1dALj4/audio.input: Invalid"
                .into(),
        };
        assert_eq!(failed.to_string(), "ffmpeg failed (exit status: 1)");
        assert!(
            failed.detail().contains("render-1dALj4"),
            "the log keeps it"
        );
        let probe = FfmpegError::Probe("/data/tmp/x.mp4: moov atom not found".into());
        assert!(!probe.to_string().contains('/'));
    }
}
