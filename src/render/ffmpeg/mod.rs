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

mod args;
mod audio_format;
mod error;
mod input;
mod probe;
mod process;
mod still_clip;

pub use args::{
    audio_streams_args, conform_args, encode_args, mux_audio_args, poster_args, probe_args,
    AudioSource, EncodeSpec,
};
pub use audio_format::AudioFormat;
pub use error::FfmpegError;
pub use input::{video_demuxer, InputFile};
pub use probe::{audio_streams, duration};
pub use process::{available, encode, run};
pub use still_clip::{encode_still_clip, still_clip_args};
