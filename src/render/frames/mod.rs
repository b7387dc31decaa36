//! Frames: decodes the source images and draws each frame of a plan as packed RGB24.
//!
//! Invariants: only PNG, JPEG and WebP are accepted, recognised by their bytes; an image over the
//! pixel cap, or whose decoded buffer would exceed the cap's bytes (4 per pixel, so 16-bit images
//! get half the pixels), is refused from its header before any pixel is decoded. Decoding holds
//! one full-size buffer in the decoder's own pixel format; transparency is composited onto black
//! in that buffer, then it is shrunk (one axis at a time) to what the output needs and dropped
//! before orientation and RGB8 conversion run on the small copy; callers decode one image at a
//! time per decode permit. A `SourceImage` is upright (EXIF orientation applied) RGB8. Drawing a
//! frame allocates no frame-sized buffer and converts no pixel format: it is one sub-pixel
//! crop-and-resize of the first image (pre-scaled once to what the most magnified viewport
//! needs), blended during the cross-fade with the last image. The last image is static: its
//! cover-fit, resized once, so the clip ends exactly on it. Same plan and images, same bytes.

mod alpha;
mod decode;
mod draw;
mod source;
#[cfg(test)]
mod tests;

use fast_image_resize::{FilterType, ResizeAlg};

pub use decode::{decode, MAX_PIXELS};
pub use draw::FrameRenderer;
pub use source::SourceImage;

/// Per-frame filter: bicubic keeps zoomed-in frames sharp for ~20% more time than bilinear;
/// sources are pre-scaled, so it never has to shrink by much.
const FRAME_FILTER: ResizeAlg = ResizeAlg::Convolution(FilterType::CatmullRom);
/// One-off resizes (pre-scaling, the last image) can afford the sharpest filter.
const ONE_OFF_FILTER: ResizeAlg = ResizeAlg::Convolution(FilterType::Lanczos3);

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
