//! Transparency composited onto black in the decoded buffer itself, so a transparent image
//! costs no second full-size copy.

use image::{DynamicImage, ImageBuffer};

/// Transparent pixels become black, as they would over a video's black background. Done in
/// place on the decoded buffer (alpha dropped, the rest packed down), so a transparent image
/// costs no second full-size copy; what is left has no alpha channel.
pub(super) fn flatten_alpha(image: DynamicImage) -> DynamicImage {
    let (width, height) = (image.width(), image.height());
    let flattened = match image {
        DynamicImage::ImageRgba8(rgba) => {
            let data = flatten_in_place::<u8, 4>(rgba.into_raw());
            ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageRgb8)
        }
        DynamicImage::ImageLumaA8(luma) => {
            let data = flatten_in_place::<u8, 2>(luma.into_raw());
            ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageLuma8)
        }
        DynamicImage::ImageRgba16(rgba) => {
            let data = flatten_in_place::<u16, 4>(rgba.into_raw());
            ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageRgb16)
        }
        DynamicImage::ImageLumaA16(luma) => {
            let data = flatten_in_place::<u16, 2>(luma.into_raw());
            ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageLuma16)
        }
        other @ (DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageRgb16(_)) => Some(other),
        // Float images: PNG, JPEG and WebP never decode to them.
        other if other.color().has_alpha() => {
            Some(flatten_alpha(DynamicImage::ImageRgba8(other.to_rgba8())))
        }
        other => Some(DynamicImage::ImageRgb8(other.to_rgb8())),
    };
    // `from_raw` only refuses a buffer of the wrong length, which packing cannot produce.
    flattened.unwrap_or_else(|| DynamicImage::new_rgb8(width, height))
}

/// A channel type whose values can be scaled by an alpha of the same type.
trait Channel: Copy {
    fn times_alpha(self, alpha: Self) -> Self;
}

impl Channel for u8 {
    fn times_alpha(self, alpha: u8) -> u8 {
        ((u16::from(self) * u16::from(alpha) + 127) / 255) as u8
    }
}

impl Channel for u16 {
    fn times_alpha(self, alpha: u16) -> u16 {
        ((u32::from(self) * u32::from(alpha) + 32_767) / 65_535) as u16
    }
}

/// Pixels of `N` channels, alpha last, become pixels of `N - 1` channels scaled by that alpha,
/// in the same buffer. Pixel `i` is written at `(N - 1) * i`, never past where pixel `i` was
/// read from, so every pixel is read before it is overwritten.
fn flatten_in_place<T: Channel, const N: usize>(mut data: Vec<T>) -> Vec<T> {
    let pixels = data.len() / N;
    for i in 0..pixels {
        let mut pixel = [data[N * i]; N];
        pixel.copy_from_slice(&data[N * i..N * i + N]);
        let alpha = pixel[N - 1];
        for c in 0..N - 1 {
            data[(N - 1) * i + c] = pixel[c].times_alpha(alpha);
        }
    }
    data.truncate(pixels * (N - 1));
    // Gives the freed quarter (or half) back; for a large buffer this is an in-place remap.
    data.shrink_to_fit();
    data
}
