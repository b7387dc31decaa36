//! Frame size, motion, determinism and the cross-fade.

use image::RgbImage;

use super::{gradient, mean_abs_diff};
use crate::domain::catalogue::Resolution;
use crate::domain::motion::Motion;
use crate::render::frames::draw::blend;
use crate::render::frames::{FrameError, FrameRenderer, SourceImage};
use crate::render::plan::{output_size, OutputSize, RenderPlan};

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
