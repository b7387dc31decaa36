//! Images shared by the decoding and drawing tests.

use image::RgbImage;

mod decoding;
mod drawing;

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

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    total as f64 / a.len() as f64
}
