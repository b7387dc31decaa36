//! Decoding a source under the pixel and memory caps, shrunk to what the output needs right
//! after decoding, so no full-size buffer outlives the call.

use std::io::Cursor;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{PixelType, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageFormat, ImageReader, Limits, Pixel};

use super::alpha::flatten_alpha;
use super::error::FrameError;
use super::source::{SourceImage, ONE_OFF_FILTER};

/// The default cap on a source's width * height (`render.max_image_pixels`).
pub const MAX_PIXELS: u64 = crate::config::DEFAULT_MAX_IMAGE_PIXELS;

/// Bytes a decoder may use per pixel of the cap: an 8-bit RGBA image at the cap fits.
const BYTES_PER_CAPPED_PIXEL: u64 = 4;

/// Decodes a source image at no more than the size `fit` asks for.
///
/// Sniffs the bytes (not the URL or content type): PNG, JPEG and WebP only. Refuses images over
/// `max_pixels`, or whose pixels would take more than 4 bytes per pixel of that cap, from their
/// header, before decoding. `fit` gets the upright size and returns the upright size the caller
/// needs at most (kept within the source); the image is shrunk to it right after decoding, so
/// the full-size buffer is gone before anything else is allocated.
pub fn decode(
    bytes: &[u8],
    max_pixels: u64,
    fit: impl FnOnce(u32, u32) -> (u32, u32),
) -> Result<SourceImage, FrameError> {
    let budget = max_pixels.saturating_mul(BYTES_PER_CAPPED_PIXEL);
    let (mut reader, _) = accepted_reader(bytes)?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(budget);
    // PNG takes its limits when the decoder is made, the others from `set_limits`.
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    // `from_decoder` allocates this much at once without asking the limits.
    let needed = decoder.total_bytes();
    if needed > budget {
        const MB: u64 = 1_000_000;
        return Err(FrameError::TooMuchMemory {
            width,
            height,
            needed: needed.div_ceil(MB),
            max: budget / MB,
        });
    }
    decoder.set_limits(limits).map_err(decode_error)?;
    // A broken EXIF block is not worth refusing the image for.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let turned = swaps_axes(orientation);
    let (upright_w, upright_h) = if turned {
        (height, width)
    } else {
        (width, height)
    };
    let (fit_w, fit_h) = fit(upright_w, upright_h);
    let target = if turned {
        (fit_h, fit_w)
    } else {
        (fit_w, fit_h)
    };
    let image = flatten_alpha(DynamicImage::from_decoder(decoder).map_err(decode_error)?);
    let mut image = shrink_decoded(image, target)?;
    image.apply_orientation(orientation);
    let mut source = SourceImage::from_dynamic(image)?;
    source.source_size = (upright_w, upright_h);
    Ok(source)
}

/// What a source's header says, nothing decoded: its format (PNG, JPEG or WebP) and its upright
/// size (EXIF orientation applied), refused like [`decode`] refuses it when over `max_pixels`.
/// For backends that hand the bytes on (ComfyUI) but need the shape of the image first.
pub fn inspect(bytes: &[u8], max_pixels: u64) -> Result<(ImageFormat, u32, u32), FrameError> {
    let (reader, format) = accepted_reader(bytes)?;
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok(if swaps_axes(orientation) {
        (format, height, width)
    } else {
        (format, width, height)
    })
}

/// A reader of an accepted image, and the format its bytes showed.
type Sniffed<'a> = (ImageReader<Cursor<&'a [u8]>>, ImageFormat);

/// A reader for `bytes` if they are a PNG, JPEG or WebP image (sniffed, never believed).
fn accepted_reader(bytes: &[u8]) -> Result<Sniffed<'_>, FrameError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| FrameError::Decode(e.to_string()))?;
    match reader.format() {
        Some(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => {
            Ok((reader, format))
        }
        _ => Err(FrameError::UnsupportedFormat),
    }
}

fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<(), FrameError> {
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(FrameError::TooLarge {
            width,
            height,
            max: max_pixels,
        });
    }
    Ok(())
}

/// True when the orientation turns the image a quarter, so width and height trade places.
fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// `image` (without alpha) shrunk to `target` (clamped to its own size) in its own pixel
/// format, one axis at a time: the full-size buffer is dropped after the first pass, so at most
/// the full image and a partly shrunk one are ever held, never a full-size copy, and nothing
/// full-size outlives this call.
fn shrink_decoded(image: DynamicImage, target: (u32, u32)) -> Result<DynamicImage, FrameError> {
    let (width, height) = (image.width(), image.height());
    let (target_w, target_h) = (target.0.clamp(1, width), target.1.clamp(1, height));
    let Some(pixel_type) = pixel_type_of(&image) else {
        // `flatten_alpha` leaves nothing else; convert rather than fail.
        return shrink_decoded(DynamicImage::ImageRgb8(image.to_rgb8()), target);
    };
    let mut pixels = image;
    for pass in [(width, target_h), (target_w, target_h)] {
        if pass != (pixels.width(), pixels.height()) {
            pixels = resized(&pixels, pixel_type, pass)?;
        }
    }
    Ok(pixels)
}

/// `image` resized to `size`; a one-axis resize needs no scratch image.
fn resized(
    image: &DynamicImage,
    pixel_type: PixelType,
    (width, height): (u32, u32),
) -> Result<DynamicImage, FrameError> {
    let source = ImageRef::new(image.width(), image.height(), image.as_bytes(), pixel_type)
        .map_err(|e| FrameError::Resize(e.to_string()))?;
    let mut small = Image::new(width, height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ONE_OFF_FILTER);
    Resizer::new()
        .resize(&source, &mut small, &options)
        .map_err(|e| FrameError::Resize(e.to_string()))?;
    dynamic_from(small)
}

fn pixel_type_of(image: &DynamicImage) -> Option<PixelType> {
    Some(match image {
        DynamicImage::ImageLuma8(_) => PixelType::U8,
        DynamicImage::ImageRgb8(_) => PixelType::U8x3,
        DynamicImage::ImageLuma16(_) => PixelType::U16,
        DynamicImage::ImageRgb16(_) => PixelType::U16x3,
        _ => return None,
    })
}

/// The inverse of `pixel_type_of` for a resized image.
fn dynamic_from(image: Image<'static>) -> Result<DynamicImage, FrameError> {
    fn buffer<P: Pixel>(
        width: u32,
        height: u32,
        data: Vec<P::Subpixel>,
    ) -> Option<ImageBuffer<P, Vec<P::Subpixel>>> {
        ImageBuffer::from_raw(width, height, data)
    }
    let (width, height, pixel_type) = (image.width(), image.height(), image.pixel_type());
    let bytes = image.into_vec();
    let words = |bytes: &[u8]| -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|pair| u16::from_ne_bytes([pair[0], pair[1]]))
            .collect()
    };
    let converted = match pixel_type {
        PixelType::U8 => buffer(width, height, bytes).map(DynamicImage::ImageLuma8),
        PixelType::U8x3 => buffer(width, height, bytes).map(DynamicImage::ImageRgb8),
        PixelType::U16 => buffer(width, height, words(&bytes)).map(DynamicImage::ImageLuma16),
        PixelType::U16x3 => buffer(width, height, words(&bytes)).map(DynamicImage::ImageRgb16),
        _ => None,
    };
    converted.ok_or_else(|| FrameError::Resize(format!("cannot convert a {pixel_type:?} image")))
}

fn decode_error(e: image::ImageError) -> FrameError {
    FrameError::Decode(e.to_string())
}
