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

use std::fmt;
use std::io::Cursor;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageFormat, ImageReader, Limits, Pixel};

use super::plan::RenderPlan;

/// The default cap on a source's width * height (`render.max_image_pixels`).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Bytes a decoder may use per pixel of the cap: an 8-bit RGBA image at the cap fits.
const BYTES_PER_CAPPED_PIXEL: u64 = 4;

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

/// A decoded source image in RGB8.
pub struct SourceImage {
    pixels: Image<'static>,
    /// The upright size it was decoded from, before any shrinking: what orientation and output
    /// size go by, since rounding can make a shrunk near-square image square.
    source_size: (u32, u32),
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
    fn from_dynamic(image: DynamicImage) -> Result<SourceImage, FrameError> {
        let rgb = image.into_rgb8();
        let (width, height) = rgb.dimensions();
        SourceImage::from_rgb8(width, height, rgb.into_raw())
    }

    /// A copy shrunk to `width`x`height`; the original when that is not smaller.
    fn shrunk_to(self, (width, height): (u32, u32)) -> SourceImage {
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

/// Transparent pixels become black, as they would over a video's black background. Done in
/// place on the decoded buffer (alpha dropped, the rest packed down), so a transparent image
/// costs no second full-size copy; what is left has no alpha channel.
fn flatten_alpha(image: DynamicImage) -> DynamicImage {
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
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| FrameError::Decode(e.to_string()))?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)
    ) {
        return Err(FrameError::UnsupportedFormat);
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(budget);
    // PNG takes its limits when the decoder is made, the others from `set_limits`.
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(FrameError::TooLarge {
            width,
            height,
            max: max_pixels,
        });
    }
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

/// Draws frames of a plan. Reuses buffers between frames.
pub struct FrameRenderer {
    plan: RenderPlan,
    first: SourceImage,
    last: Option<SourceImage>,
    /// The last image's cover-fit at the output size; drawn on first use.
    last_frame: Vec<u8>,
    resizer: Resizer,
}

impl FrameRenderer {
    /// The plan's `has_last_image` follows `last`, so the two cannot disagree.
    pub fn new(
        mut plan: RenderPlan,
        first: SourceImage,
        last: Option<SourceImage>,
    ) -> FrameRenderer {
        plan.has_last_image = last.is_some();
        let working = plan.working_size(first.width(), first.height());
        FrameRenderer {
            first: first.shrunk_to(working),
            plan,
            last,
            last_frame: Vec::new(),
            resizer: Resizer::new(),
        }
    }

    pub fn plan(&self) -> &RenderPlan {
        &self.plan
    }

    /// Bytes in one frame: width * height * 3.
    pub fn frame_len(&self) -> usize {
        self.plan.size.width as usize * self.plan.size.height as usize * 3
    }

    /// Writes frame `index` as packed RGB24 (row-major, top to bottom) into `out`
    /// (len == frame_len()).
    pub fn render(&mut self, index: u32, out: &mut [u8]) -> Result<(), FrameError> {
        self.check(index, out.len())?;
        // 0..=256 so that both ends are exact: 0 is only the first image, 256 only the last.
        let weight = (self.plan.last_image_weight(index) * 256.0).round() as u32;
        if weight < 256 {
            self.draw_first(index, out)?;
        }
        if weight > 0 {
            let last = self.last_frame()?;
            if weight == 256 {
                out.copy_from_slice(last);
            } else {
                blend(out, last, weight);
            }
        }
        Ok(())
    }

    fn check(&self, index: u32, len: usize) -> Result<(), FrameError> {
        if index >= self.plan.frame_count {
            return Err(FrameError::OutOfRange {
                index,
                frame_count: self.plan.frame_count,
            });
        }
        if len != self.frame_len() {
            return Err(FrameError::BufferSize {
                expected: self.frame_len(),
                actual: len,
            });
        }
        Ok(())
    }

    fn draw_first(&mut self, index: u32, out: &mut [u8]) -> Result<(), FrameError> {
        let view = self
            .plan
            .viewport(index, self.first.width(), self.first.height());
        let options = ResizeOptions::new().resize_alg(FRAME_FILTER).crop(
            view.left,
            view.top,
            view.width,
            view.height,
        );
        let mut frame = self.output_image(out)?;
        self.resizer
            .resize(&self.first.pixels, &mut frame, &options)
            .map_err(|e| FrameError::Resize(e.to_string()))
    }

    fn last_frame(&mut self) -> Result<&[u8], FrameError> {
        if self.last_frame.is_empty() {
            let Some(last) = &self.last else {
                return Err(FrameError::Resize(
                    "the plan fades to a missing last image".into(),
                ));
            };
            let mut buffer = vec![0; self.frame_len()];
            let mut frame = self.output_image(&mut buffer)?;
            let options = ResizeOptions::new()
                .resize_alg(ONE_OFF_FILTER)
                .fit_into_destination(None);
            self.resizer
                .resize(&last.pixels, &mut frame, &options)
                .map_err(|e| FrameError::Resize(e.to_string()))?;
            self.last_frame = buffer;
        }
        Ok(&self.last_frame)
    }

    fn output_image<'a>(&self, buffer: &'a mut [u8]) -> Result<Image<'a>, FrameError> {
        let size = self.plan.size;
        Image::from_slice_u8(size.width, size.height, buffer, PixelType::U8x3)
            .map_err(|e| FrameError::Resize(e.to_string()))
    }
}

/// `out = out * (256 - weight) / 256 + last * weight / 256`, rounded; weight in 1..=255.
fn blend(out: &mut [u8], last: &[u8], weight: u32) {
    let keep = 256 - weight;
    for (o, &l) in out.iter_mut().zip(last) {
        *o = ((u32::from(*o) * keep + u32::from(l) * weight + 128) >> 8) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::Resolution;
    use crate::domain::motion::Motion;
    use crate::render::plan::{output_size, OutputSize};
    use image::RgbImage;

    /// Red grows to the right, green downwards, blue with a ripple, so every motion shows.
    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let ripple = ((x as f64 / 9.0).sin() * (y as f64 / 13.0).cos() * 60.0) as i32;
            image::Rgb([
                (x * 255 / (width - 1)) as u8,
                (y * 255 / (height - 1)) as u8,
                (128 + ripple) as u8,
            ])
        })
    }

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    fn source(image: &RgbImage) -> SourceImage {
        SourceImage::from_rgb8(image.width(), image.height(), image.as_raw().clone()).unwrap()
    }

    /// A renderer at 720p, or at an eighth of it (`small`) to keep debug-build tests quick.
    fn renderer_at(
        small: bool,
        motion: Motion,
        first: &RgbImage,
        last: Option<&RgbImage>,
    ) -> FrameRenderer {
        let mut size = output_size(Resolution::P720, first.width(), first.height());
        if small {
            size = OutputSize {
                width: size.width / 8,
                height: size.height / 8,
            };
        }
        let plan = RenderPlan::new(size, 24, 2.0, motion, last.is_some());
        FrameRenderer::new(plan, source(first), last.map(source))
    }

    fn renderer(motion: Motion, first: &RgbImage, last: Option<&RgbImage>) -> FrameRenderer {
        renderer_at(true, motion, first, last)
    }

    fn frame(renderer: &mut FrameRenderer, index: u32) -> Vec<u8> {
        let mut out = vec![0; renderer.frame_len()];
        renderer.render(index, &mut out).unwrap();
        out
    }

    fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
        let total: u64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum();
        total as f64 / a.len() as f64
    }

    /// Decodes at full size under the default cap.
    fn decode_full(bytes: &[u8]) -> Result<SourceImage, FrameError> {
        decode(bytes, MAX_PIXELS, |w, h| (w, h))
    }

    /// PNG chunk framing: length, type, data, CRC.
    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }

    /// A PNG whose header claims `width`x`height` 8-bit RGB, with one empty data chunk.
    fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
        png_header_claiming_depth(width, height, 8, 2)
    }

    fn png_header_claiming_depth(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"IHDR", &ihdr));
        png.extend(png_chunk(b"IDAT", &[]));
        png.extend(png_chunk(b"IEND", &[]));
        png
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn decodes_png_jpeg_and_webp() {
        let original = DynamicImage::ImageRgb8(gradient(64, 48));
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let decoded = decode_full(&encoded(&original, format)).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (64, 48), "{format:?}");
            let error = mean_abs_diff(decoded.pixels.buffer(), original.as_bytes());
            // PNG and (lossless) WebP are exact; JPEG is close.
            let allowed = if format == ImageFormat::Jpeg {
                4.0
            } else {
                0.0
            };
            assert!(error <= allowed, "{format:?}: {error}");
        }
    }

    #[test]
    fn transparency_is_composited_onto_black() {
        let rgba = image::RgbaImage::from_pixel(4, 4, image::Rgba([200, 100, 50, 128]));
        let decoded =
            decode_full(&encoded(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png)).unwrap();
        assert_eq!(&decoded.pixels.buffer()[..3], &[100, 50, 25]);
    }

    #[test]
    fn alpha_is_flattened_in_place_for_every_depth() {
        let luma = image::GrayAlphaImage::from_pixel(3, 2, image::LumaA([200, 128]));
        match flatten_alpha(DynamicImage::ImageLumaA8(luma)) {
            DynamicImage::ImageLuma8(flat) => assert!(flat.pixels().all(|p| p.0 == [100])),
            other => panic!("{:?}", other.color()),
        }
        let deep = image::ImageBuffer::<image::Rgba<u16>, _>::from_pixel(
            3,
            2,
            image::Rgba([65535, 30000, 0, 32768]),
        );
        match flatten_alpha(DynamicImage::ImageRgba16(deep)) {
            DynamicImage::ImageRgb16(flat) => {
                assert_eq!(flat.as_raw().len(), 3 * 2 * 3);
                assert!(flat.pixels().all(|p| p.0 == [32768, 15000, 0]));
            }
            other => panic!("{:?}", other.color()),
        }
        let opaque = DynamicImage::ImageRgb8(gradient(4, 4));
        assert_eq!(flatten_alpha(opaque.clone()), opaque);
    }

    #[test]
    fn refuses_other_formats_and_garbage() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        let bmp = b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00".to_vec();
        for bytes in [gif, bmp, b"definitely not an image".to_vec(), Vec::new()] {
            assert!(
                matches!(decode_full(&bytes), Err(FrameError::UnsupportedFormat)),
                "{bytes:?}"
            );
        }
        let png = encoded(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png);
        assert!(matches!(
            decode_full(&png[..60]),
            Err(FrameError::Decode(_))
        ));
    }

    #[test]
    fn refuses_huge_images_from_the_header_alone() {
        // Decoding 100000x100000 would need 30 GB; the refusal must come before that.
        match decode_full(&png_header_claiming(100_000, 100_000)) {
            Err(FrameError::TooLarge { width, height, max }) => {
                assert_eq!((width, height, max), (100_000, 100_000, MAX_PIXELS));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(matches!(
            decode_full(&png_header_claiming(8000, 6251)),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_pixel_cap_is_configurable_and_checked_before_decoding() {
        let png = encoded(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png);
        let mut asked = false;
        match decode(&png, 3000, |w, h| {
            asked = true;
            (w, h)
        }) {
            Err(FrameError::TooLarge { width, height, max }) => {
                assert_eq!((width, height, max), (64, 48, 3000));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(
            !asked,
            "refused from the header, before any sizing or decoding"
        );
        assert!(decode(&png, 64 * 48, |w, h| (w, h)).is_ok());
    }

    #[test]
    fn sixteen_bit_images_count_double_against_the_memory_budget() {
        // 4000x4000 is within 20 MP, but 16-bit RGBA needs 128 MB, over 20 MP * 4 bytes.
        let huge = png_header_claiming_depth(4000, 4000, 16, 6);
        match decode(&huge, 20_000_000, |w, h| (w, h)) {
            Err(e @ FrameError::TooMuchMemory { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains("4000x4000") && text.contains("128 MB"),
                    "{text}"
                );
            }
            other => panic!("expected TooMuchMemory, got {other:?}"),
        }
    }

    #[test]
    fn images_are_shrunk_to_the_size_asked_for_right_after_decoding() {
        let original = DynamicImage::ImageRgb8(gradient(640, 480));
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let bytes = encoded(&original, format);
            let small = decode(&bytes, MAX_PIXELS, |w, h| {
                assert_eq!((w, h), (640, 480));
                (160, 120)
            })
            .unwrap();
            assert_eq!((small.width(), small.height()), (160, 120), "{format:?}");
            assert_eq!(small.source_size(), (640, 480));
            // Same picture: compare with a full decode shrunk the old way.
            let reference = decode_full(&bytes).unwrap().shrunk_to((160, 120));
            let error = mean_abs_diff(small.pixels.buffer(), reference.pixels.buffer());
            assert!(error < 1.0, "{format:?}: {error}");
        }
        // Never enlarged, never zero.
        let png = encoded(&original, ImageFormat::Png);
        let same = decode(&png, MAX_PIXELS, |_, _| (5000, 5000)).unwrap();
        assert_eq!((same.width(), same.height()), (640, 480));
        let tiny = decode(&png, MAX_PIXELS, |_, _| (0, 0)).unwrap();
        assert_eq!((tiny.width(), tiny.height()), (1, 1));
    }

    #[test]
    fn shrinking_keeps_alpha_and_sixteen_bit_images_right() {
        let rgba = image::RgbaImage::from_pixel(400, 200, image::Rgba([200, 100, 50, 128]));
        let small = decode(
            &encoded(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
            MAX_PIXELS,
            |_, _| (100, 50),
        )
        .unwrap();
        assert!(small.pixels.buffer().chunks(3).all(|p| p
            .iter()
            .zip([100u8, 50, 25])
            .all(|(&c, e)| c.abs_diff(e) <= 1)));
        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            300,
            300,
            image::Rgb([65535, 32768, 0]),
        );
        let small = decode(
            &encoded(&DynamicImage::ImageRgb16(deep), ImageFormat::Png),
            MAX_PIXELS,
            |_, _| (30, 30),
        )
        .unwrap();
        assert_eq!((small.width(), small.height()), (30, 30));
        assert!(small.pixels.buffer().chunks(3).all(|p| p
            .iter()
            .zip([255u8, 128, 0])
            .all(|(&c, e)| c.abs_diff(e) <= 1)));
    }

    /// A PNG of `image` with an EXIF block saying "rotate 90 degrees clockwise to view".
    fn png_turned_a_quarter(image: &RgbImage) -> Vec<u8> {
        let png = encoded(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png);
        // Big-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
        let exif = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00";
        // Signature (8) + IHDR (25): eXIf goes right after the header chunk.
        let mut out = png[..33].to_vec();
        out.extend(png_chunk(b"eXIf", exif));
        out.extend_from_slice(&png[33..]);
        out
    }

    #[test]
    fn orientation_is_applied_and_sizes_are_asked_for_upright() {
        // Left half red, right half blue; turned upright, red is on top.
        let image = RgbImage::from_fn(400, 200, |x, _| {
            if x < 200 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let bytes = png_turned_a_quarter(&image);
        for shrink in [false, true] {
            let decoded = decode(&bytes, MAX_PIXELS, |w, h| {
                assert_eq!((w, h), (200, 400), "the size is upright");
                if shrink {
                    (50, 100)
                } else {
                    (w, h)
                }
            })
            .unwrap();
            let (w, h) = (decoded.width(), decoded.height());
            assert_eq!((w, h), if shrink { (50, 100) } else { (200, 400) });
            let pixel = |x: u32, y: u32| {
                let at = (y * w + x) as usize * 3;
                decoded.pixels.buffer()[at..at + 3].to_vec()
            };
            assert_eq!(pixel(w / 2, h / 10), [255, 0, 0], "shrink={shrink}");
            assert_eq!(pixel(w / 2, h - h / 10), [0, 0, 255], "shrink={shrink}");
        }
    }

    #[test]
    fn frames_have_the_output_size_and_check_their_arguments() {
        let mut renderer = renderer_at(false, Motion::ZoomIn, &gradient(300, 400), None);
        assert_eq!(
            renderer.plan().size,
            OutputSize {
                width: 720,
                height: 1280
            }
        );
        assert_eq!(renderer.frame_len(), 720 * 1280 * 3);
        let mut short = vec![0; 10];
        assert!(matches!(
            renderer.render(0, &mut short),
            Err(FrameError::BufferSize { .. })
        ));
        let mut out = vec![0; renderer.frame_len()];
        assert!(matches!(
            renderer.render(48, &mut out),
            Err(FrameError::OutOfRange {
                index: 48,
                frame_count: 48
            })
        ));
    }

    #[test]
    fn zoom_in_starts_on_the_cover_fit() {
        // 400x300 into 1280x720 keeps the full width and the middle 225 rows.
        let image = gradient(400, 300);
        let mut renderer = renderer_at(false, Motion::ZoomIn, &image, None);
        let out = frame(&mut renderer, 0);
        for (x, y) in [(0, 0), (640, 360), (1279, 719), (100, 600), (1000, 50)] {
            let sx = ((f64::from(x) + 0.5) * 400.0 / 1280.0) as u32;
            let sy = (37.5 + (f64::from(y) + 0.5) * 225.0 / 720.0) as u32;
            let expected = image.get_pixel(sx.min(399), sy.min(299)).0;
            let at = (y as usize * 1280 + x as usize) * 3;
            for c in 0..3 {
                let got = out[at + c];
                assert!(
                    got.abs_diff(expected[c]) <= 12,
                    "({x},{y})[{c}]: {got} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn every_motion_changes_the_picture_over_time() {
        let image = gradient(640, 480);
        for motion in Motion::ALL {
            let mut renderer = renderer(motion, &image, None);
            let end = renderer.plan().frame_count - 1;
            let start = frame(&mut renderer, 0);
            for index in [end / 2, end] {
                let later = frame(&mut renderer, index);
                let change = mean_abs_diff(&start, &later);
                assert!(change > 2.0, "{motion:?} frame {index}: {change}");
            }
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let image = gradient(500, 333);
        let last = gradient(200, 260);
        for motion in Motion::ALL {
            let mut one = renderer(motion, &image, Some(&last));
            let mut two = renderer(motion, &image, Some(&last));
            for index in [0, 17, 40, 47] {
                let first_pass = frame(&mut one, index);
                assert_eq!(first_pass, frame(&mut one, index), "{motion:?} {index}");
                assert_eq!(first_pass, frame(&mut two, index), "{motion:?} {index}");
            }
        }
    }

    #[test]
    fn the_clip_fades_into_the_last_image() {
        let image = gradient(640, 480);
        let last = RgbImage::from_pixel(300, 200, image::Rgb([10, 200, 90]));
        let mut with_last = renderer(Motion::KenBurns, &image, Some(&last));
        let mut without = renderer(Motion::KenBurns, &image, None);
        let end = with_last.plan().frame_count - 1;
        // Before the fade both clips agree; at the end only the last image is left.
        assert_eq!(frame(&mut with_last, 10), frame(&mut without, 10));
        let final_frame = frame(&mut with_last, end);
        assert!(final_frame.chunks(3).all(|p| p == [10, 200, 90]));
        let fading = frame(&mut with_last, end - 9);
        let towards_last = mean_abs_diff(&fading, &final_frame);
        let from_first = mean_abs_diff(&frame(&mut without, end - 9), &final_frame);
        assert!(towards_last > 1.0 && towards_last < from_first * 0.9);
    }

    #[test]
    fn blending_hits_both_ends_exactly() {
        let mut out = [0, 255, 100];
        blend(&mut out, &[255, 0, 100], 128);
        assert_eq!(out, [128, 128, 100]);
        let mut out = [7, 8, 9];
        blend(&mut out, &[200, 201, 202], 255);
        assert!(out
            .iter()
            .zip([200, 201, 202])
            .all(|(&o, l)| o.abs_diff(l) <= 1));
    }

    /// `cargo test --release --lib render::frames -- --ignored --nocapture`
    #[test]
    #[ignore = "timing report, run in release"]
    fn time_frames_from_a_4000x3000_source() {
        let image = gradient(4000, 3000);
        for resolution in Resolution::ALL {
            for (motion, last) in [
                (Motion::ZoomIn, false),
                (Motion::Squish, false),
                (Motion::KenBurns, true),
            ] {
                let size = output_size(resolution, 4000, 3000);
                let plan = RenderPlan::new(size, 24, 5.0, motion, last);
                let started = std::time::Instant::now();
                let mut renderer =
                    FrameRenderer::new(plan, source(&image), last.then(|| source(&image)));
                let setup = started.elapsed();
                let mut out = vec![0; renderer.frame_len()];
                let started = std::time::Instant::now();
                for index in 0..renderer.plan().frame_count {
                    renderer.render(index, &mut out).unwrap();
                }
                let per_frame = started.elapsed() / renderer.plan().frame_count;
                let resolution = resolution.value();
                println!(
                    "{resolution} {motion:?} last={last}: setup {setup:?}, {per_frame:?} per frame"
                );
            }
        }
    }
}
