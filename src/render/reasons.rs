//! Why a render failed, as users read it in `error_reason`: what failed, never a server path
//! or ffmpeg's output (those go to the log).

use super::ffmpeg::FfmpegError;
use super::RenderError;

pub fn io_unavailable(e: std::io::Error) -> RenderError {
    tracing::warn!(error = %e, "render work dir");
    RenderError::Unavailable("local disk error".into())
}

/// Logs everything ffmpeg said, paths included; users never see it.
pub fn log_ffmpeg(stage: &str, e: &FfmpegError) {
    tracing::warn!(stage, error = %e, detail = e.detail(), "ffmpeg/ffprobe failed");
}

/// A clean reason for `error_reason` (what failed, never ffmpeg's stderr or a server path);
/// the detail goes to the log.
pub fn ffmpeg_error(stage: &str, e: FfmpegError) -> RenderError {
    log_ffmpeg(stage, &e);
    match e {
        FfmpegError::NotInstalled => RenderError::Unavailable(e.to_string()),
        FfmpegError::Failed { .. } => RenderError::Input(format!("{stage} failed")),
        FfmpegError::TimedOut(limit) => {
            RenderError::Unavailable(format!("{stage} timed out after {}s", limit.as_secs()))
        }
        FfmpegError::Io(_) | FfmpegError::Probe(_) => {
            RenderError::Unavailable(format!("{stage} failed: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_failures_reach_users_without_paths_or_addresses() {
        let stderr = "[http @ 0x55aa3c1e2f40] HTTP error 404\n\
                      /srv/i2v/data/tmp/render-1dALj4/audio.input: Invalid data found";
        for stage in ["encoding", "reading the source video", "probing audio_url"] {
            let failures = [
                FfmpegError::Failed {
                    status: "exit status: 1".into(),
                    stderr_tail: stderr.into(),
                },
                FfmpegError::Probe(stderr.into()),
                FfmpegError::Io(stderr.into()),
            ];
            for failure in failures {
                let shown = ffmpeg_error(stage, failure).to_string();
                for leak in ["0x55aa", "/srv", "render-1dALj4", "audio.input", "404", "["] {
                    assert!(!shown.contains(leak), "{leak:?} in {shown:?}");
                }
                assert!(shown.starts_with(stage), "{shown}");
            }
        }
        assert!(matches!(
            ffmpeg_error(
                "encoding",
                FfmpegError::Failed {
                    status: "exit status: 1".into(),
                    stderr_tail: stderr.into()
                }
            ),
            RenderError::Input(reason) if reason == "encoding failed"
        ));
    }
}
