//! The one file an ffmpeg or ffprobe input may read, and the one demuxer allowed to read it.

use std::path::{Path, PathBuf};

use super::audio_format::AudioFormat;

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

    /// A generated video (a ComfyUI output), read by `demuxer` alone: see [`video_demuxer`].
    pub fn video(path: PathBuf, demuxer: &'static str) -> InputFile {
        InputFile { path, demuxer }
    }

    /// The options that pin this input to its file and demuxer, up to and including `-i`.
    pub(super) fn args(&self) -> Vec<String> {
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

/// The demuxer for a generated video, from its first bytes: MP4/MOV (`ftyp`), WebM/Matroska
/// (EBML) or GIF; `None` for anything else, which is then refused rather than probed.
pub fn video_demuxer(head: &[u8]) -> Option<&'static str> {
    if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some("mov")
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("matroska")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("gif")
    } else {
        None
    }
}

/// `file:<path>`, so that nothing in a path (a colon, a leading dash) is read as a protocol or
/// an option.
pub(super) fn file_url(path: &Path) -> String {
    format!("file:{}", path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use tokio::sync::mpsc;

    use crate::render::ffmpeg::args::strings;
    use crate::render::ffmpeg::{
        audio_streams, available, encode, encode_args, run, AudioSource, EncodeSpec, FfmpegError,
    };

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
    #[test]
    fn generated_videos_are_recognised_by_their_first_bytes_only() {
        assert_eq!(video_demuxer(b"\0\0\0\x18ftypisom...."), Some("mov"));
        assert_eq!(
            video_demuxer(&[0x1A, 0x45, 0xDF, 0xA3, 1]),
            Some("matroska")
        );
        assert_eq!(video_demuxer(b"GIF89a.."), Some("gif"));
        for other in [&b"#EXTM3U\n"[..], b"ffconcat version 1.0", b"", b"\0\0\0"] {
            assert_eq!(video_demuxer(other), None);
        }
    }

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
}
