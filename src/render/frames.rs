//! Frames: decodes the source images and draws each frame of a plan as packed RGB24.
//!
//! Invariants: only PNG, JPEG and WebP are accepted, recognised by their bytes, and an image over
//! 50 megapixels is refused from its header before any pixel is decoded. A `SourceImage` is
//! upright (EXIF orientation applied) RGB8, with transparency composited onto black. Drawing a
//! frame allocates no frame-sized buffer and converts no pixel format: it is one sub-pixel
//! crop-and-resize of the first image (pre-scaled once to what the most magnified viewport
//! needs), blended during the cross-fade with the last image. The last image is static: its
//! cover-fit, resized once, so the clip ends exactly on it. Same plan and images, same bytes.

use std::fmt;
use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::plan::RenderPlan;

/// The largest source accepted, in pixels.
pub const MAX_PIXELS: u64 = 50_000_000;

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
        Ok(SourceImage { pixels })
    }

    pub fn width(&self) -> u32 {
        self.pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.pixels.height()
    }

    fn from_dynamic(image: DynamicImage) -> Result<SourceImage, FrameError> {
        let rgb = if image.color().has_alpha() {
            over_black(&image)
        } else {
            image.into_rgb8()
        };
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
            Ok(()) => SourceImage { pixels: small },
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

/// Transparent pixels become black, as they would over a video's black background.
fn over_black(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let scale = |c: u8| ((u16::from(c) * u16::from(a) + 127) / 255) as u8;
        image::Rgb([scale(r), scale(g), scale(b)])
    })
}

/// Sniffs the bytes (not the URL or content type): PNG, JPEG and WebP only; refuses images over
/// [`MAX_PIXELS`] from their header, before decoding the pixels.
pub fn decode(bytes: &[u8]) -> Result<SourceImage, FrameError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| FrameError::Decode(e.to_string()))?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)
    ) {
        return Err(FrameError::UnsupportedFormat);
    }
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(FrameError::TooLarge {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    decoder
        .set_limits(Limits::default())
        .map_err(decode_error)?;
    // A broken EXIF block is not worth refusing the image for.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    SourceImage::from_dynamic(image)
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
    use crate::render::plan::{output_size, Motion, OutputSize};

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
        let mut size = output_size("720p", first.width(), first.height()).unwrap();
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

    /// A PNG whose header claims `width`x`height`, with one empty data chunk.
    fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
        fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            let mut out = (data.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc32(&body).to_be_bytes());
            out
        }
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(b"IDAT", &[]));
        png.extend(chunk(b"IEND", &[]));
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
            let decoded = decode(&encoded(&original, format)).unwrap();
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
        let decoded = decode(&encoded(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png)).unwrap();
        assert_eq!(&decoded.pixels.buffer()[..3], &[100, 50, 25]);
    }

    #[test]
    fn refuses_other_formats_and_garbage() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        let bmp = b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00".to_vec();
        for bytes in [gif, bmp, b"definitely not an image".to_vec(), Vec::new()] {
            assert!(
                matches!(decode(&bytes), Err(FrameError::UnsupportedFormat)),
                "{bytes:?}"
            );
        }
        let png = encoded(&DynamicImage::ImageRgb8(gradient(64, 48)), ImageFormat::Png);
        assert!(matches!(decode(&png[..60]), Err(FrameError::Decode(_))));
    }

    #[test]
    fn refuses_huge_images_from_the_header_alone() {
        // Decoding 100000x100000 would need 30 GB; the refusal must come before that.
        match decode(&png_header_claiming(100_000, 100_000)) {
            Err(FrameError::TooLarge { width, height, max }) => {
                assert_eq!((width, height, max), (100_000, 100_000, MAX_PIXELS));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(matches!(
            decode(&png_header_claiming(8000, 6251)),
            Err(FrameError::TooLarge { .. })
        ));
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
        for resolution in ["720p", "1080p", "4k"] {
            for (motion, last) in [
                (Motion::ZoomIn, false),
                (Motion::Squish, false),
                (Motion::KenBurns, true),
            ] {
                let size = output_size(resolution, 4000, 3000).unwrap();
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
                println!(
                    "{resolution} {motion:?} last={last}: setup {setup:?}, {per_frame:?} per frame"
                );
            }
        }
    }
}
