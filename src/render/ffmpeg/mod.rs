//! The only place that runs ffmpeg and ffprobe. Argument lists come from pure functions (unit
//! tested); processes run with a timeout and are killed when dropped.
//!
//! Invariant: every file ffmpeg or ffprobe reads goes in as `file:<path>` with a forced demuxer,
//! `-format_whitelist <that demuxer>` and `-protocol_whitelist file`. Bytes a user supplied are
//! recognised by [`AudioFormat::sniff`] first, and only plain audio containers get through, so
//! no playlist (hls, m3u), concat list, SDP, image pattern or other indirection is ever opened:
//! a text file naming `file:///etc/passwd` is refused before ffmpeg sees it, and ffmpeg itself
//! could not follow it. Failures keep ffmpeg's stderr for the log only; their `Display` carries
//! no path and no stderr, because it reaches users as `error_reason`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How much of ffmpeg's stderr an error keeps (for the log).
const STDERR_TAIL: usize = 2000;

/// The audio containers accepted from users, each read by one ffmpeg demuxer that opens nothing
/// but the file it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioFormat {
    Mp3,
    Wav,
    Ogg,
    Flac,
    /// MP4 / M4A / MOV (`ftyp`), read with external references (`dref`) disabled.
    Mp4,
    /// Raw AAC in ADTS frames.
    Aac,
    /// Matroska and WebM.
    Matroska,
    Aiff,
}

impl AudioFormat {
    /// How refusals name the accepted formats.
    pub const ACCEPTED: &'static str = "MP3, WAV, OGG, FLAC, M4A/MP4, AAC, WebM/Matroska or AIFF";

    /// The ffmpeg demuxer that reads this format.
    pub fn demuxer(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Wav => "wav",
            AudioFormat::Ogg => "ogg",
            AudioFormat::Flac => "flac",
            AudioFormat::Mp4 => "mov",
            AudioFormat::Aac => "aac",
            AudioFormat::Matroska => "matroska",
            AudioFormat::Aiff => "aiff",
        }
    }

    /// Recognises an accepted container from its first bytes; `None` for anything else
    /// (playlists, text, images, video-only containers are found out later by ffprobe).
    pub fn sniff(bytes: &[u8]) -> Option<AudioFormat> {
        let at =
            |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
        if at(0, b"ID3") {
            // ID3v2 is a tag in front of MP3 (sometimes AAC or FLAC): look behind it. Without a
            // whole tag header it is nothing at all.
            let rest = bytes.get(id3_len(bytes)?..).unwrap_or_default();
            return Some(Self::sniff_untagged(rest).unwrap_or(AudioFormat::Mp3));
        }
        Self::sniff_untagged(bytes)
    }

    fn sniff_untagged(bytes: &[u8]) -> Option<AudioFormat> {
        let at =
            |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
        if (at(0, b"RIFF") || at(0, b"RF64")) && at(8, b"WAVE") {
            Some(AudioFormat::Wav)
        } else if at(0, b"OggS") {
            Some(AudioFormat::Ogg)
        } else if at(0, b"fLaC") {
            Some(AudioFormat::Flac)
        } else if at(4, b"ftyp") {
            Some(AudioFormat::Mp4)
        } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
            Some(AudioFormat::Matroska)
        } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
            Some(AudioFormat::Aiff)
        } else if is_adts(bytes) {
            Some(AudioFormat::Aac)
        } else if is_mpeg_audio_frame(bytes) {
            Some(AudioFormat::Mp3)
        } else {
            None
        }
    }
}

/// The length of a leading ID3v2 tag (header, body and footer).
fn id3_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..10)?;
    let size = header[6..10].iter().try_fold(0usize, |acc, &b| {
        (b < 0x80).then_some((acc << 7) | usize::from(b))
    })?;
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// An ADTS header: 12 sync bits, layer 0, a valid sampling index.
fn is_adts(bytes: &[u8]) -> bool {
    matches!(bytes, [0xff, b1, b2, ..] if b1 & 0xf6 == 0xf0 && (b2 >> 2) & 0x0f < 13)
}

/// An MPEG audio frame header (MP1/2/3): 11 sync bits, then no reserved version, layer,
/// bitrate or sample rate.
fn is_mpeg_audio_frame(bytes: &[u8]) -> bool {
    matches!(bytes, [0xff, b1, b2, ..]
        if b1 & 0xe0 == 0xe0
            && (b1 >> 3) & 0x03 != 0x01
            && (b1 >> 1) & 0x03 != 0x00
            && b2 >> 4 != 0x0f
            && (b2 >> 2) & 0x03 != 0x03)
}

/// A file ffmpeg or ffprobe reads, and the one demuxer allowed to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct InputFile {
    pub path: PathBuf,
    pub demuxer: &'static str,
}

impl InputFile {
    pub fn audio(path: PathBuf, format: AudioFormat) -> InputFile {
        InputFile {
            path,
            demuxer: format.demuxer(),
        }
    }

    /// An MP4 this server wrote (the source of an audio update); held to the same rules anyway.
    pub fn mp4(path: PathBuf) -> InputFile {
        InputFile {
            path,
            demuxer: "mov",
        }
    }

    /// The options that pin this input to its file and demuxer, up to and including `-i`.
    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            self.demuxer,
            "-f",
            self.demuxer,
        ]
        .map(String::from)
        .to_vec();
        if self.demuxer == "mov" {
            // The default already, stated so that no build or future default follows a `dref`
            // to another file.
            args.extend(["-enable_drefs", "0"].map(String::from));
        }
        args.extend(["-i".to_string(), file_url(&self.path)]);
        args
    }
}

/// `file:<path>`, so that nothing in a path (a colon, a leading dash) is read as a protocol or
/// an option.
fn file_url(path: &Path) -> String {
    format!("file:{}", path.to_string_lossy())
}

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

fn strings(items: &[&str]) -> Vec<String> {
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
    args.extend(audio_input_args(&spec.audio, spec.seconds));
    let crf = spec.crf.to_string();
    args.extend(strings(&[
        "-map",
        "0:v:0",
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

fn spawn_error(e: std::io::Error) -> FfmpegError {
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
fn tail(text: &str) -> String {
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

    #[test]
    fn sniffing_recognises_audio_containers() {
        let mut id3_mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x05ABCDE".to_vec();
        id3_mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        let mut id3_flac = b"ID3\x04\x00\x00\x00\x00\x00\x02AB".to_vec();
        id3_flac.extend_from_slice(b"fLaC\0\0\0\x22");
        let cases: &[(&[u8], AudioFormat)] = &[
            (&id3_mp3, AudioFormat::Mp3),
            (b"ID3\x04\x00\x00\x00\x00\x00\x00", AudioFormat::Mp3),
            (&id3_flac, AudioFormat::Flac),
            (&[0xff, 0xfb, 0x90, 0x64, 0, 0], AudioFormat::Mp3),
            (&[0xff, 0xf3, 0x64, 0xc4], AudioFormat::Mp3),
            (b"RIFF\x24\0\0\0WAVEfmt ", AudioFormat::Wav),
            (b"RF64\xff\xff\xff\xffWAVEds64", AudioFormat::Wav),
            (b"OggS\0\x02\0\0", AudioFormat::Ogg),
            (b"fLaC\0\0\0\x22", AudioFormat::Flac),
            (b"\0\0\0\x1cftypM4A \0\0\x02\0", AudioFormat::Mp4),
            (&[0x1a, 0x45, 0xdf, 0xa3, 0x9f], AudioFormat::Matroska),
            (b"FORM\0\x01\x58\xb6AIFFCOMM", AudioFormat::Aiff),
            (b"FORM\0\x01\x58\xb6AIFCFVER", AudioFormat::Aiff),
            (&[0xff, 0xf1, 0x50, 0x40, 0x21], AudioFormat::Aac),
        ];
        for (bytes, format) in cases {
            assert_eq!(AudioFormat::sniff(bytes), Some(*format), "{bytes:?}");
        }
    }

    #[test]
    fn sniffing_refuses_playlists_lists_and_everything_else() {
        let refused: &[&[u8]] = &[
            b"#EXTM3U\n#EXTINF:6.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
            b"ffconcat version 1.0\nfile '/etc/passwd'\n",
            b"v=0\no=- 0 0 IN IP4 127.0.0.1\n",
            b"<?xml version=\"1.0\"?><MPD>",
            b"[playlist]\nFile1=file:///etc/passwd\n",
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\x24\0\0\0AVI LIST",
            b"FORM\0\0\0\0ILBM",
            &[0xff, 0xff, 0xff, 0xff],
            &[0xff, 0xfb, 0xf0, 0x00],
            b"ID3",
            b"",
        ];
        for bytes in refused {
            assert_eq!(AudioFormat::sniff(bytes), None, "{bytes:?}");
        }
    }

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

    const ALL_FORMATS: [AudioFormat; 8] = [
        AudioFormat::Mp3,
        AudioFormat::Wav,
        AudioFormat::Ogg,
        AudioFormat::Flac,
        AudioFormat::Mp4,
        AudioFormat::Aac,
        AudioFormat::Matroska,
        AudioFormat::Aiff,
    ];

    /// One black 64x64 frame with `audio`, encoded by the real ffmpeg.
    async fn encode_one_frame(audio: AudioSource, output: PathBuf) -> Result<(), FfmpegError> {
        let spec = EncodeSpec {
            width: 64,
            height: 64,
            fps: 1,
            seconds: 1.0,
            audio,
            preset: "ultrafast".into(),
            crf: 30,
            output,
        };
        let (tx, rx) = mpsc::channel(1);
        tx.send(vec![0u8; 64 * 64 * 3]).await.unwrap();
        drop(tx);
        encode("ffmpeg", &encode_args(&spec), rx, Duration::from_secs(60)).await
    }

    /// The second line of defence on its own: even a playlist mistaken for audio is read by an
    /// audio demuxer only, which opens nothing else.
    #[tokio::test]
    async fn ffmpeg_follows_no_playlist_even_when_told_it_is_audio() {
        if !available("ffmpeg").await || !available("ffprobe").await {
            eprintln!("skipped: ffmpeg is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let tone = dir.path().join("tone.wav");
        let mut make_tone = strings(&["-hide_banner", "-loglevel", "error", "-f", "lavfi"]);
        make_tone.extend(strings(&["-i", "sine=duration=1"]));
        make_tone.push(tone.to_string_lossy().into_owned());
        run("ffmpeg", &make_tone, Duration::from_secs(60))
            .await
            .unwrap();
        let list = dir.path().join("audio.input");
        let playlist = format!(
            "#EXTM3U\n#EXTINF:1.0,\nfile://{}\n#EXT-X-ENDLIST\n",
            tone.display()
        );
        std::fs::write(&list, playlist).unwrap();

        let control = InputFile::audio(tone, AudioFormat::Wav);
        let timeout = Duration::from_secs(60);
        assert_eq!(
            audio_streams("ffprobe", &control, timeout).await.unwrap(),
            1
        );
        let output = dir.path().join("control.mp4");
        encode_one_frame(AudioSource::File(control), output.clone())
            .await
            .unwrap();
        assert!(output.exists());

        for format in ALL_FORMATS {
            let file = InputFile::audio(list.clone(), format);
            let streams = audio_streams("ffprobe", &file, timeout).await;
            assert!(
                !matches!(streams, Ok(n) if n > 0),
                "{format:?}: {streams:?}"
            );
            let output = dir.path().join(format!("{format:?}.mp4"));
            let encoded = encode_one_frame(AudioSource::File(file), output.clone()).await;
            assert!(
                matches!(encoded, Err(FfmpegError::Failed { .. })),
                "{format:?}: {encoded:?}"
            );
        }
    }

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

    #[test]
    fn stderr_tails_keep_the_end_on_a_char_boundary() {
        let long = format!("{}é{}", "a".repeat(5000), "z".repeat(STDERR_TAIL - 1));
        let kept = tail(&long);
        assert_eq!(kept.chars().count(), STDERR_TAIL);
        assert!(kept.starts_with('é'));
        assert_eq!(tail(" short "), "short");
    }
}
