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
mod error;
mod source;
#[cfg(test)]
mod tests;

pub use decode::{decode, inspect, MAX_PIXELS};
pub use draw::FrameRenderer;
pub use error::FrameError;
pub use source::SourceImage;
