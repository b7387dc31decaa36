//! A decoded source image: upright RGB8, remembering the size it was decoded from.

use std::fmt;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use super::error::FrameError;

/// One-off resizes (pre-scaling, the last image) can afford the sharpest filter.
pub(super) const ONE_OFF_FILTER: ResizeAlg = ResizeAlg::Convolution(FilterType::Lanczos3);

/// A decoded source image in RGB8.
pub struct SourceImage {
    pub(super) pixels: Image<'static>,
    /// The upright size it was decoded from, before any shrinking: what orientation and output
    /// size go by, since rounding can make a shrunk near-square image square.
    pub(super) source_size: (u32, u32),
}

impl SourceImage {
    /// Wraps packed RGB8 rows; `data` must hold exactly `width * height * 3` bytes.
    pub fn from_rgb8(width: u32, height: u32, data: Vec<u8>) -> Result<SourceImage, FrameError> {
        let expected = width as usize * height as usize * 3;
        if width == 0 || height == 0 || data.len() != expected {
            return Err(FrameError::Decode(format!(
                "{width}x{height} RGB needs {expected} bytes, got {}",
                data.len()
            )));
        }
        let pixels = Image::from_vec_u8(width, height, data, PixelType::U8x3)
            .map_err(|e| FrameError::Decode(e.to_string()))?;
        Ok(SourceImage {
            pixels,
            source_size: (width, height),
        })
    }

    /// The upright size of the image this was decoded from (its own size unless shrunk).
    pub fn source_size(&self) -> (u32, u32) {
        self.source_size
    }

    pub fn width(&self) -> u32 {
        self.pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.pixels.height()
    }

    /// From an image without alpha (see `flatten_alpha`).
    pub(super) fn from_dynamic(image: DynamicImage) -> Result<SourceImage, FrameError> {
        let rgb = image.into_rgb8();
        let (width, height) = rgb.dimensions();
        SourceImage::from_rgb8(width, height, rgb.into_raw())
    }

    /// A copy shrunk to `width`x`height`; the original when that is not smaller.
    pub(super) fn shrunk_to(self, (width, height): (u32, u32)) -> SourceImage {
        if width >= self.width() && height >= self.height() {
            return self;
        }
        let mut small = Image::new(width, height, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ONE_OFF_FILTER);
        match Resizer::new().resize(&self.pixels, &mut small, &options) {
            Ok(()) => SourceImage {
                pixels: small,
                source_size: self.source_size,
            },
            // Cannot happen for two RGB8 images; the full-size source still renders correctly.
            Err(_) => self,
        }
    }
}

impl fmt::Debug for SourceImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceImage({}x{})", self.width(), self.height())
    }
}
