//! Running ffmpeg: spawned with piped stderr, within a timeout, killed when dropped.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::error::FfmpegError;

/// How much of ffmpeg's stderr an error keeps (for the log).
const STDERR_TAIL: usize = 2000;

/// True when `ffmpeg -version` runs.
pub async fn available(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .is_ok_and(|s| s.success())
}

pub(super) fn spawn_error(e: std::io::Error) -> FfmpegError {
    match e.kind() {
        std::io::ErrorKind::NotFound => FfmpegError::NotInstalled,
        _ => FfmpegError::Io(e.to_string()),
    }
}

fn spawn(program: &str, args: &[String], stdin: bool) -> Result<Child, FfmpegError> {
    Command::new(program)
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)
}

/// The last `STDERR_TAIL` characters of `text`, trimmed.
pub(super) fn tail(text: &str) -> String {
    let start = text
        .char_indices()
        .rev()
        .nth(STDERR_TAIL - 1)
        .map_or(0, |(at, _)| at);
    text[start..].trim().to_owned()
}

async fn finish(mut child: Child) -> Result<(), FfmpegError> {
    let stderr = child.stderr.take();
    let collect = async {
        let mut buf = Vec::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_end(&mut buf).await;
        }
        buf
    };
    let (status, err) = tokio::join!(child.wait(), collect);
    let status = status.map_err(|e| FfmpegError::Io(e.to_string()))?;
    if status.success() {
        return Ok(());
    }
    Err(FfmpegError::Failed {
        status: status.to_string(),
        stderr_tail: tail(&String::from_utf8_lossy(&err)),
    })
}

/// Runs ffmpeg with `args`, feeding it every frame received on `frames`, within `timeout`.
pub async fn encode(
    program: &str,
    args: &[String],
    mut frames: mpsc::Receiver<Vec<u8>>,
    timeout: Duration,
) -> Result<(), FfmpegError> {
    let mut child = spawn(program, args, true)?;
    let stdin = child.stdin.take();
    let work = async move {
        let feed = async {
            if let Some(mut stdin) = stdin {
                while let Some(frame) = frames.recv().await {
                    // A write error means ffmpeg exited; its status and stderr say why.
                    if stdin.write_all(&frame).await.is_err() {
                        break;
                    }
                }
            }
        };
        let (_, done) = tokio::join!(feed, finish(child));
        done
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| FfmpegError::TimedOut(timeout))?
}

/// Runs ffmpeg with `args` (no stdin) within `timeout`.
pub async fn run(program: &str, args: &[String], timeout: Duration) -> Result<(), FfmpegError> {
    let child = spawn(program, args, false)?;
    tokio::time::timeout(timeout, finish(child))
        .await
        .map_err(|_| FfmpegError::TimedOut(timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tails_keep_the_end_on_a_char_boundary() {
        let long = format!("{}é{}", "a".repeat(5000), "z".repeat(STDERR_TAIL - 1));
        let kept = tail(&long);
        assert_eq!(kept.chars().count(), STDERR_TAIL);
        assert!(kept.starts_with('é'));
        assert_eq!(tail(" short "), "short");
    }
}
