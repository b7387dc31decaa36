//! Why a source could not be decoded or a frame drawn.

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("unsupported image format: only PNG, JPEG and WebP are accepted")]
    UnsupportedFormat,
    #[error("image could not be decoded: {0}")]
    Decode(String),
    #[error("image is too large: {width}x{height} (at most {max} pixels)")]
    TooLarge { width: u32, height: u32, max: u64 },
    #[error(
        "image is too large: {width}x{height} needs {needed} MB to decode (at most {max} MB; \
         16-bit images count double)"
    )]
    TooMuchMemory {
        width: u32,
        height: u32,
        needed: u64,
        max: u64,
    },
    #[error("frame {index} is past the end of the clip ({frame_count} frames)")]
    OutOfRange { index: u32, frame_count: u32 },
    #[error("the frame buffer holds {actual} bytes but a frame needs {expected}")]
    BufferSize { expected: usize, actual: usize },
    #[error("frame could not be drawn: {0}")]
    Resize(String),
}
