//! A local asset server on 127.0.0.1:0 for render tests: images in every accepted format, a WAV
//! file, and things that are not images.

use std::io::Cursor;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use image::{ImageFormat, Rgb, RgbImage};

pub struct Assets {
    pub base: String,
    _server: tokio::task::JoinHandle<()>,
}

impl Assets {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A colourful gradient with a grid, so that motion shows up in every direction.
pub fn test_image(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let grid = if x % 50 < 3 || y % 50 < 3 { 255 } else { 0 };
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, grid])
    })
}

pub fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A valid 1x1 GIF: a real image in a format i2v does not accept.
const TINY_GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// `seconds` of a 440 Hz tone as 16-bit mono PCM WAV.
pub fn wav(seconds: f64) -> Vec<u8> {
    let rate = 16_000u32;
    let samples: Vec<i16> = (0..(seconds * rate as f64) as u32)
        .map(|i| {
            ((i as f64 * 440.0 * 2.0 * std::f64::consts::PI / rate as f64).sin() * 8000.0) as i16
        })
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

pub async fn spawn_assets() -> Assets {
    let landscape_png = encode(&test_image(800, 600), ImageFormat::Png);
    let flaky_png = landscape_png.clone();
    let flaky_hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let portrait_jpg = encode(&test_image(600, 900), ImageFormat::Jpeg);
    let square_webp = encode(&test_image(500, 500), ImageFormat::WebP);
    let last_png = encode(
        &RgbImage::from_pixel(640, 480, Rgb([200, 30, 30])),
        ImageFormat::Png,
    );
    let gif = TINY_GIF.to_vec();
    let audio = wav(2.0);
    let serve = |bytes: Vec<u8>, mime: &'static str| {
        get(move || async move { ([(header::CONTENT_TYPE, mime)], bytes).into_response() })
    };
    let router = Router::new()
        .route("/landscape.png", serve(landscape_png, "image/png"))
        .route("/portrait.jpg", serve(portrait_jpg, "image/jpeg"))
        .route("/square.webp", serve(square_webp, "image/webp"))
        .route("/last.png", serve(last_png, "image/png"))
        // Lies about its type: content sniffing must not trust the header.
        .route("/animated.png", serve(gif, "image/png"))
        .route(
            "/notes.txt",
            serve(b"this is not an image".to_vec(), "image/png"),
        )
        .route("/tone.wav", serve(audio, "audio/wav"))
        .route(
            "/down.png",
            get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route(
            "/flaky.png",
            get(move || {
                let hits = flaky_hits.clone();
                let png = flaky_png.clone();
                async move {
                    // Down for the first two requests, then up.
                    if hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
                    } else {
                        ([(header::CONTENT_TYPE, "image/png")], png).into_response()
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Assets {
        base,
        _server: server,
    }
}
