//! The only place that runs ffmpeg and ffprobe. Argument lists come from pure functions (unit
//! tested); processes run with a timeout, are killed when dropped, and failures carry the tail of
//! ffmpeg's stderr.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How much of ffmpeg's stderr an error keeps.
const STDERR_TAIL: usize = 2000;

#[derive(Clone, Debug, PartialEq)]
pub enum AudioSource {
    None,
    /// A file, looped or trimmed to the video's length.
    File(PathBuf),
    /// i2v's generated soundtrack: a soft A-major chord with a slow swell, faded in and out.
    Generated,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EncodeSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub seconds: f64,
    pub audio: AudioSource,
    pub preset: String,
    pub crf: u32,
    pub output: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum FfmpegError {
    #[error("ffmpeg is not installed (apt-get install ffmpeg)")]
    NotInstalled,
    #[error("ffmpeg failed ({status}): {stderr_tail}")]
    Failed { status: String, stderr_tail: String },
    #[error("ffmpeg timed out after {0:?}")]
    TimedOut(Duration),
    #[error("ffmpeg i/o error: {0}")]
    Io(String),
    #[error("could not read the output's duration: {0}")]
    Probe(String),
}

/// The generated soundtrack as an ffmpeg `aevalsrc` expression.
fn generated_audio(seconds: f64) -> String {
    let chord = "0.10*sin(2*PI*220*t)+0.07*sin(2*PI*277.18*t)+0.06*sin(2*PI*329.63*t)";
    format!("aevalsrc=({chord})*(0.75+0.25*sin(2*PI*0.25*t)):s=48000:c=stereo:d={seconds}")
}

fn audio_fades(seconds: f64) -> String {
    let fade = (seconds / 10.0).clamp(0.1, 0.5);
    format!(
        "afade=t=in:d={fade},afade=t=out:st={:.3}:d={fade}",
        (seconds - fade).max(0.0)
    )
}

/// ffmpeg arguments that encode raw RGB24 frames from stdin into an H.264 MP4.
pub fn encode_args(spec: &EncodeSpec) -> Vec<String> {
    let mut args: Vec<String> = vec!["-hide_banner", "-loglevel", "error", "-y"]
        .into_iter()
        .map(String::from)
        .collect();
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    let size = format!("{}x{}", spec.width, spec.height);
    let fps = spec.fps.to_string();
    push(&[
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &size, "-r", &fps, "-i", "pipe:0",
    ]);
    let seconds = format!("{:.3}", spec.seconds);
    match &spec.audio {
        AudioSource::None => {}
        AudioSource::File(path) => push(&["-stream_loop", "-1", "-i", &path.to_string_lossy()]),
        AudioSource::Generated => push(&["-f", "lavfi", "-i", &generated_audio(spec.seconds)]),
    }
    push(&["-map", "0:v:0"]);
    let crf = spec.crf.to_string();
    push(&[
        "-c:v",
        "libx264",
        "-preset",
        &spec.preset,
        "-crf",
        &crf,
        "-pix_fmt",
        "yuv420p",
        "-r",
        &fps,
    ]);
    if spec.audio != AudioSource::None {
        push(&[
            "-map",
            "1:a:0",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-af",
            &audio_fades(spec.seconds),
        ]);
    }
    push(&[
        "-t",
        &seconds,
        "-movflags",
        "+faststart",
        "-map_metadata",
        "-1",
    ]);
    push(&["-f", "mp4", &spec.output.to_string_lossy()]);
    args
}

/// ffmpeg arguments that put new audio under an existing video without re-encoding the picture.
pub fn mux_audio_args(
    video: &Path,
    audio: &AudioSource,
    seconds: f64,
    output: &Path,
) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y", "-i"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(video.to_string_lossy().into_owned());
    match audio {
        AudioSource::File(path) => {
            args.extend(["-stream_loop", "-1", "-i"].map(String::from));
            args.push(path.to_string_lossy().into_owned());
        }
        AudioSource::Generated | AudioSource::None => {
            args.extend(["-f", "lavfi", "-i"].map(String::from));
            args.push(generated_audio(seconds));
        }
    }
    args.extend(
        [
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-af",
        ]
        .map(String::from),
    );
    args.push(audio_fades(seconds));
    args.extend(["-t".to_string(), format!("{seconds:.3}")]);
    args.extend(
        [
            "-movflags",
            "+faststart",
            "-map_metadata",
            "-1",
            "-f",
            "mp4",
        ]
        .map(String::from),
    );
    args.push(output.to_string_lossy().into_owned());
    args
}

pub fn probe_args(file: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "default=nw=1:nk=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(file.to_string_lossy().into_owned());
    args
}

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

fn spawn(program: &str, args: &[String], stdin: bool) -> Result<Child, FfmpegError> {
    Command::new(program)
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FfmpegError::NotInstalled,
            _ => FfmpegError::Io(e.to_string()),
        })
}

async fn finish(mut child: Child) -> Result<(), FfmpegError> {
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let collect = async {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf).await;
        buf
    };
    let (status, err) = tokio::join!(child.wait(), collect);
    let status = status.map_err(|e| FfmpegError::Io(e.to_string()))?;
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&err);
    let tail: String = text
        .chars()
        .rev()
        .take(STDERR_TAIL)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(FfmpegError::Failed {
        status: status.to_string(),
        stderr_tail: tail.trim().to_owned(),
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
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let work = async move {
        let feed = async {
            while let Some(frame) = frames.recv().await {
                // A write error means ffmpeg exited; its status and stderr say why.
                if stdin.write_all(&frame).await.is_err() {
                    break;
                }
            }
            drop(stdin);
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

/// The container duration of `file` in seconds, from ffprobe.
pub async fn duration(ffprobe: &str, file: &Path) -> Result<f64, FfmpegError> {
    let out = Command::new(ffprobe)
        .args(probe_args(file))
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FfmpegError::NotInstalled,
            _ => FfmpegError::Io(e.to_string()),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse::<f64>()
        .map_err(|_| FfmpegError::Probe(String::from_utf8_lossy(&out.stderr).trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(audio: AudioSource) -> EncodeSpec {
        EncodeSpec {
            width: 1280,
            height: 720,
            fps: 24,
            seconds: 5.0,
            audio,
            preset: "veryfast".into(),
            crf: 20,
            output: PathBuf::from("/tmp/out.mp4"),
        }
    }

    fn joined(args: &[String]) -> String {
        args.join(" ")
    }

    #[test]
    fn silent_encodes_map_only_video() {
        let args = joined(&encode_args(&spec(AudioSource::None)));
        assert!(args.contains("-f rawvideo -pix_fmt rgb24 -s 1280x720 -r 24 -i pipe:0"));
        assert!(args.contains("-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p"));
        assert!(args.contains("-movflags +faststart"));
        assert!(!args.contains("1:a"));
        assert!(!args.contains("-c:a"));
        assert!(args.ends_with("-f mp4 /tmp/out.mp4"));
    }

    #[test]
    fn audio_files_are_looped_and_cut_to_the_video_length() {
        let args = joined(&encode_args(&spec(AudioSource::File("/tmp/a.mp3".into()))));
        assert!(args.contains("-stream_loop -1 -i /tmp/a.mp3"));
        assert!(args.contains("-map 1:a:0 -c:a aac"));
        assert!(args.contains("-t 5.000"));
    }

    #[test]
    fn generated_audio_comes_from_lavfi_with_the_right_length() {
        let args = encode_args(&spec(AudioSource::Generated));
        let at = args.iter().position(|a| a == "lavfi").unwrap();
        assert_eq!(args[at + 1], "-i");
        assert!(args[at + 2].starts_with("aevalsrc=") && args[at + 2].ends_with(":d=5"));
    }

    #[test]
    fn muxing_copies_the_picture() {
        let args = joined(&mux_audio_args(
            Path::new("/in.mp4"),
            &AudioSource::Generated,
            10.0,
            Path::new("/out.mp4"),
        ));
        assert!(args.contains("-i /in.mp4"));
        assert!(args.contains("-c:v copy"));
        assert!(args.contains("-t 10.000"));
    }
}
