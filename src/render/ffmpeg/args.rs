//! Argument lists for ffmpeg and ffprobe, built by pure functions: every file input pinned by
//! `InputFile`, the soundtrack looped or generated, the output cut to the video's length.

use std::path::{Path, PathBuf};

use super::input::file_url;
use super::input::InputFile;

#[derive(Clone, Debug, PartialEq)]
pub enum AudioSource {
    None,
    /// A file, looped or trimmed to the video's length.
    File(InputFile),
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

pub(super) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The second input: the soundtrack, looped so that a short file covers the whole video.
fn audio_input_args(audio: &AudioSource, seconds: f64) -> Vec<String> {
    match audio {
        AudioSource::None => Vec::new(),
        AudioSource::File(file) => {
            let mut args = strings(&["-stream_loop", "-1"]);
            args.extend(file.args());
            args
        }
        AudioSource::Generated => {
            let mut args = strings(&["-f", "lavfi", "-i"]);
            args.push(generated_audio(seconds));
            args
        }
    }
}

/// ffmpeg arguments that encode raw RGB24 frames from stdin into an H.264 MP4.
pub fn encode_args(spec: &EncodeSpec) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-y"]);
    let size = format!("{}x{}", spec.width, spec.height);
    let fps = spec.fps.to_string();
    args.extend(strings(&[
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &size, "-r", &fps, "-i", "pipe:0",
    ]));
    args.extend(h264_output_args(spec, None));
    args
}

/// ffmpeg arguments that make a clip another program generated (a ComfyUI workflow's output)
/// into the Akool output: exactly `spec.width` x `spec.height` (scaled to fit, then padded
/// with black, never stretched), `spec.fps`, exactly `spec.seconds` long (a short clip holds its
/// last frame), H.264 with the soundtrack of `spec.audio`.
pub fn conform_args(input: &InputFile, spec: &EncodeSpec) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-y"]);
    args.extend(input.args());
    let (w, h) = (spec.width, spec.height);
    let filter = format!(
        "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,\
         setsar=1,fps={fps},tpad=stop_mode=clone:stop_duration={seconds}",
        fps = spec.fps,
        seconds = spec.seconds,
    );
    args.extend(h264_output_args(spec, Some(&filter)));
    args
}

/// After the picture input: the soundtrack input, then the picture (through `filter`, if any)
/// as H.264 at `spec.fps`, the soundtrack as AAC with fades, and the MP4 output.
fn h264_output_args(spec: &EncodeSpec, filter: Option<&str>) -> Vec<String> {
    let mut args = audio_input_args(&spec.audio, spec.seconds);
    args.extend(strings(&["-map", "0:v:0"]));
    if let Some(filter) = filter {
        args.extend(strings(&["-vf", filter]));
    }
    let crf = spec.crf.to_string();
    let fps = spec.fps.to_string();
    args.extend(strings(&[
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
    ]));
    if spec.audio != AudioSource::None {
        args.extend(strings(&[
            "-map",
            "1:a:0",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-af",
            &audio_fades(spec.seconds),
        ]));
    }
    args.extend(mp4_output_args(spec.seconds, &spec.output));
    args
}

/// The output half every render shares: cut to `seconds`, playable while downloading, no
/// metadata carried over from the inputs.
fn mp4_output_args(seconds: f64, output: &Path) -> Vec<String> {
    let mut args = strings(&[
        "-t",
        &format!("{seconds:.3}"),
        "-movflags",
        "+faststart",
        "-map_metadata",
        "-1",
        "-f",
        "mp4",
    ]);
    args.push(file_url(output));
    args
}

/// ffmpeg arguments that put new audio under an existing video without re-encoding the picture.
/// No audio source means the generated soundtrack.
pub fn mux_audio_args(
    video: &InputFile,
    audio: &AudioSource,
    seconds: f64,
    output: &Path,
) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-y"]);
    args.extend(video.args());
    let audio = match audio {
        AudioSource::None => &AudioSource::Generated,
        other => other,
    };
    args.extend(audio_input_args(audio, seconds));
    args.extend(strings(&[
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-af",
        &audio_fades(seconds),
    ]));
    args.extend(mp4_output_args(seconds, output));
    args
}

/// ffmpeg arguments that write a poster of `video`: a JPEG `width` pixels wide of its most
/// representative frame among the first 48 (ffmpeg's `thumbnail` filter).
pub fn poster_args(video: &InputFile, width: u32, output: &Path) -> Vec<String> {
    let mut args = strings(&["-hide_banner", "-loglevel", "error", "-y"]);
    args.extend(video.args());
    let filter = format!("thumbnail=48,scale={width}:-2");
    args.extend(strings(&[
        "-map",
        "0:v:0",
        "-vf",
        &filter,
        "-frames:v",
        "1",
        "-q:v",
        "5",
        "-f",
        "image2",
    ]));
    args.push(file_url(output));
    args
}

/// ffprobe arguments that print the container duration of `file`.
pub fn probe_args(file: &InputFile) -> Vec<String> {
    let mut args = strings(&[
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "default=nw=1:nk=1",
    ]);
    args.extend(file.args());
    args
}

/// ffprobe arguments that print the audio streams of `file` as JSON.
pub fn audio_streams_args(file: &InputFile) -> Vec<String> {
    let mut args = strings(&[
        "-v",
        "error",
        "-select_streams",
        "a",
        "-show_entries",
        "stream=codec_type,sample_rate,channels",
        "-of",
        "json",
    ]);
    args.extend(file.args());
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::ffmpeg::AudioFormat;

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

    fn mp3(path: &str) -> AudioSource {
        AudioSource::File(InputFile::audio(path.into(), AudioFormat::Mp3))
    }

    #[test]
    fn silent_encodes_map_only_video() {
        let args = joined(&encode_args(&spec(AudioSource::None)));
        assert!(args.contains("-f rawvideo -pix_fmt rgb24 -s 1280x720 -r 24 -i pipe:0"));
        assert!(args.contains("-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p"));
        assert!(args.contains("-movflags +faststart"));
        assert!(!args.contains("1:a"));
        assert!(!args.contains("-c:a"));
        assert!(args.ends_with("-f mp4 file:/tmp/out.mp4"));
    }

    #[test]
    fn audio_files_are_pinned_to_their_demuxer_looped_and_cut_to_the_video_length() {
        let args = joined(&encode_args(&spec(mp3("/tmp/a.input"))));
        assert!(args.contains(
            "-stream_loop -1 -protocol_whitelist file -format_whitelist mp3 -f mp3 -i file:/tmp/a.input"
        ));
        assert!(args.contains("-map 1:a:0 -c:a aac"));
        assert!(args.contains("-t 5.000"));
    }

    #[test]
    fn every_file_input_is_pinned_to_one_demuxer_and_the_file_protocol() {
        let source = InputFile::mp4("/w/source.mp4".into());
        let wav = AudioSource::File(InputFile::audio("/w/a".into(), AudioFormat::Wav));
        let lists = [
            encode_args(&spec(mp3("/w/a"))),
            mux_audio_args(&source, &wav, 3.0, Path::new("/w/out.mp4")),
            probe_args(&source),
            poster_args(&source, 320, Path::new("/w/p.jpg")),
            conform_args(
                &InputFile::video("/w/c".into(), "matroska"),
                &spec(mp3("/w/a")),
            ),
            audio_streams_args(&InputFile::audio("/w/a".into(), AudioFormat::Flac)),
        ];
        for args in lists {
            for (at, arg) in args.iter().enumerate() {
                if arg != "-i" || args[at + 1].starts_with("pipe:") || args[at - 1] == "lavfi" {
                    continue;
                }
                let before = &args[..at];
                let opt = |name: &str| {
                    before
                        .iter()
                        .rposition(|a| a == name)
                        .map(|p| before[p + 1].as_str())
                };
                assert_eq!(opt("-protocol_whitelist"), Some("file"), "{args:?}");
                let demuxer = opt("-f").unwrap();
                assert_eq!(opt("-format_whitelist"), Some(demuxer), "{args:?}");
                assert!(args[at + 1].starts_with("file:/w/"), "{args:?}");
            }
        }
    }

    #[test]
    fn mp4_inputs_never_follow_external_references() {
        let args = joined(&probe_args(&InputFile::mp4("/w/s.mp4".into())));
        assert!(args.contains("-format_whitelist mov -f mov -enable_drefs 0 -i file:/w/s.mp4"));
        let args = joined(&probe_args(&InputFile::audio(
            "/w/a".into(),
            AudioFormat::Ogg,
        )));
        assert!(!args.contains("enable_drefs"), "only mov has that option");
    }

    #[test]
    fn generated_audio_comes_from_lavfi_with_the_right_length() {
        let args = encode_args(&spec(AudioSource::Generated));
        let at = args.iter().position(|a| a == "lavfi").unwrap();
        assert_eq!(args[at + 1], "-i");
        assert!(args[at + 2].starts_with("aevalsrc=") && args[at + 2].ends_with(":d=5"));
    }

    #[test]
    fn generated_clips_are_fitted_padded_and_held_to_the_exact_size_and_length() {
        let input = InputFile::video("/w/comfy.output".into(), "mov");
        let args = joined(&conform_args(&input, &spec(AudioSource::Generated)));
        assert!(
            args.contains("-format_whitelist mov -f mov -enable_drefs 0 -i file:/w/comfy.output")
        );
        assert!(args.contains(
            "-vf scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=24,tpad=stop_mode=clone:stop_duration=5"
        ));
        assert!(args.contains("-map 1:a:0 -c:a aac"));
        assert!(args.contains("-pix_fmt yuv420p -r 24"));
        assert!(args
            .ends_with("-t 5.000 -movflags +faststart -map_metadata -1 -f mp4 file:/tmp/out.mp4"));
        let silent = joined(&conform_args(&input, &spec(AudioSource::None)));
        assert!(!silent.contains("-c:a") && !silent.contains("lavfi"));
    }

    #[test]
    fn muxing_copies_the_picture() {
        let args = joined(&mux_audio_args(
            &InputFile::mp4("/in.mp4".into()),
            &AudioSource::None,
            10.0,
            Path::new("/out.mp4"),
        ));
        assert!(args.contains("-f mov -enable_drefs 0 -i file:/in.mp4"));
        assert!(
            args.contains("-f lavfi -i aevalsrc="),
            "no audio means generated"
        );
        assert!(args.contains("-c:v copy"));
        assert!(args.contains("-t 10.000"));
    }
}
