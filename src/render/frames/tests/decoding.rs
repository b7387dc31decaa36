//! Formats, caps, transparency, shrinking and orientation.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};

use super::{gradient, mean_abs_diff};
use crate::render::frames::alpha::flatten_alpha;
use crate::render::frames::{decode, FrameError, SourceImage, MAX_PIXELS};

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
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
    let decoded = decode_full(&encoded(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png)).unwrap();
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
