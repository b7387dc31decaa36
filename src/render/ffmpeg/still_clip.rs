//! A still-frame clip with a silent soundtrack: a real, playable MP4 of a given size and length
//! that costs almost nothing to encode, for lifecycles that complete a video at once. Both inputs
//! are lavfi sources we generate; no file and no user data goes in.

use std::path::Path;
use std::time::Duration;

use super::args::strings;
use super::error::FfmpegError;
use super::input::file_url;
use super::process::run;

/// The frame's colour: a muted blue, so a player shows the clip is there.
const COLOUR: &str = "0x1f3b57";

/// ffmpeg arguments that encode a `width`x`height` still clip of `seconds` at `fps` into `out`.
/// Codec, pixel format and audio match the built-in renderer's output (H.264 yuv420p, AAC
/// 128k stereo at 48 kHz, faststart MP4 without metadata), so clients see the same kind of file.
pub fn still_clip_args(width: u32, height: u32, seconds: u32, fps: u32, out: &Path) -> Vec<String> {
    let picture = format!("color=c={COLOUR}:s={width}x{height}:r={fps}:d={seconds}");
    let fps = fps.to_string();
    let seconds = seconds.to_string();
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-y"]);
    args.extend(strings(&["-f", "lavfi", "-i", &picture]));
    args.extend(strings(&[
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=48000:cl=stereo",
    ]));
    args.extend(strings(&[
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "stillimage",
        "-pix_fmt",
        "yuv420p",
        "-r",
        &fps,
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        // anullsrc never ends; the picture and `-t` bound the clip.
        "-shortest",
        "-t",
        &seconds,
        "-movflags",
        "+faststart",
        "-map_metadata",
        "-1",
        "-f",
        "mp4",
    ]));
    args.push(file_url(out));
    args
}

/// Encodes a still clip (see [`still_clip_args`]) into `out` with `program`, within `timeout`.
pub async fn encode_still_clip(
    program: &str,
    width: u32,
    height: u32,
    seconds: u32,
    fps: u32,
    out: &Path,
    timeout: Duration,
) -> Result<(), FfmpegError> {
    let args = still_clip_args(width, height, seconds, fps, out);
    run(program, &args, timeout).await
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::render::ffmpeg::{available, duration, InputFile};

    fn joined(args: &[String]) -> String {
        args.join(" ")
    }

    #[test]
    fn the_picture_and_the_silence_come_from_lavfi() {
        let args = still_clip_args(1280, 720, 5, 24, Path::new("/w/out.mp4"));
        let text = joined(&args);
        assert!(text.starts_with("-hide_banner -loglevel error -y"));
        assert!(text.contains("-f lavfi -i color=c=0x1f3b57:s=1280x720:r=24:d=5"));
        assert!(text.contains("-f lavfi -i anullsrc=r=48000:cl=stereo"));
        let inputs: Vec<_> = args
            .iter()
            .enumerate()
            .filter(|(_, a)| *a == "-i")
            .map(|(at, _)| args[at - 1].as_str())
            .collect();
        assert_eq!(inputs, ["lavfi", "lavfi"], "no file is ever read");
    }

    #[test]
    fn the_output_matches_the_renderers_kind_of_file() {
        let text = joined(&still_clip_args(320, 240, 2, 25, Path::new("/w/out.mp4")));
        assert!(
            text.contains("-c:v libx264 -preset ultrafast -tune stillimage -pix_fmt yuv420p -r 25")
        );
        assert!(text.contains("-c:a aac -b:a 128k"));
        assert!(text.contains("-shortest -t 2"));
        assert!(text.contains("-movflags +faststart -map_metadata -1"));
        assert!(text.ends_with("-f mp4 file:/w/out.mp4"));
    }

    #[test]
    fn the_output_path_is_never_read_as_an_option() {
        let args = still_clip_args(2, 2, 1, 1, Path::new("-x.mp4"));
        assert_eq!(args.last().unwrap(), "file:-x.mp4");
    }

    /// Codec, width and height of the first video stream, from ffprobe.
    async fn video_stream(file: &Path) -> (String, u32, u32) {
        let out = tokio::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .args(["stream=codec_name,width,height", "-of", "json"])
            .arg(file_url(file))
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let stream = &json["streams"][0];
        let size = |k: &str| stream[k].as_u64().unwrap() as u32;
        (
            stream["codec_name"].as_str().unwrap().to_owned(),
            size("width"),
            size("height"),
        )
    }

    #[tokio::test]
    async fn a_still_clip_is_h264_of_the_asked_size_and_length() {
        if !available("ffmpeg").await || !available("ffprobe").await {
            eprintln!("skipped: ffmpeg is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out: PathBuf = dir.path().join("still.mp4");
        let timeout = Duration::from_secs(120);
        encode_still_clip("ffmpeg", 320, 240, 2, 25, &out, timeout)
            .await
            .unwrap();
        assert_eq!(video_stream(&out).await, ("h264".into(), 320, 240));
        let seconds = duration("ffprobe", &InputFile::mp4(out), timeout)
            .await
            .unwrap();
        assert!((seconds - 2.0).abs() <= 0.1, "{seconds}");
    }

    #[tokio::test]
    async fn a_missing_ffmpeg_says_so() {
        let out = Path::new("/nonexistent/still.mp4");
        let missing = encode_still_clip(
            "i2v-no-such-ffmpeg",
            2,
            2,
            1,
            1,
            out,
            Duration::from_secs(5),
        )
        .await;
        assert!(matches!(missing, Err(FfmpegError::NotInstalled)));
    }
}
