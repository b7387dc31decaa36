//! The render plan: output size, frame count and, through the camera path of the motion
//! (`camera`), the crop of the source for every frame.
//!
//! Invariants: output sizes are even, 16:9 and oriented like the source (portrait only when the
//! source is taller than wide); a viewport always lies inside the source with a positive size and
//! never exceeds the cover-fit crop, so the picture is cropped, never letterboxed; nothing is
//! random, so a plan always yields the same viewports.

use super::camera::{camera, ease, MAX_ZOOM};
use crate::domain::catalogue::Resolution;
use crate::domain::motion::Motion;

/// Share of the clip, at its end, over which the last image fades in.
const FADE_SHARE: f64 = 0.4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSize {
    pub width: u32,
    pub height: u32,
}

impl OutputSize {
    /// The size to pre-scale a source to once, so that per-frame resizes read no more pixels
    /// than the most magnified viewport needs; never larger than the source. Only the output
    /// size matters, so an image can be shrunk to it as soon as it is decoded.
    pub fn working_size(self, src_width: u32, src_height: u32) -> (u32, u32) {
        let (src_w, src_h) = (f64::from(src_width.max(1)), f64::from(src_height.max(1)));
        let (cover_w, _) = self.cover(src_w, src_h);
        scaled_by(src_w, src_h, MAX_ZOOM * f64::from(self.width) / cover_w)
    }

    /// The smallest scaling of a source that still covers a whole frame (what a static image,
    /// cropped to the frame's aspect ratio, needs); never larger than the source.
    pub fn cover_fit_size(self, src_width: u32, src_height: u32) -> (u32, u32) {
        let (src_w, src_h) = (f64::from(src_width.max(1)), f64::from(src_height.max(1)));
        let scale = (f64::from(self.width) / src_w).max(f64::from(self.height) / src_h);
        scaled_by(src_w, src_h, scale)
    }

    /// The largest centred crop with the output's aspect ratio.
    fn cover(self, src_w: f64, src_h: f64) -> (f64, f64) {
        let aspect = f64::from(self.width.max(1)) / f64::from(self.height.max(1));
        if src_w / src_h >= aspect {
            ((src_h * aspect).min(src_w), src_h)
        } else {
            (src_w, (src_w / aspect).min(src_h))
        }
    }
}

/// Both sides times `scale` (at most 1), rounded, at least 1.
fn scaled_by(src_w: f64, src_h: f64, scale: f64) -> (u32, u32) {
    let scale = scale.min(1.0);
    let scaled = |side: f64| ((side * scale).round() as u32).max(1);
    (scaled(src_w), scaled(src_h))
}

/// The frame size for `resolution`, portrait when the source is taller than wide.
pub fn output_size(resolution: Resolution, src_width: u32, src_height: u32) -> OutputSize {
    let landscape = resolution.pixels();
    if src_height > src_width {
        OutputSize {
            width: landscape.height,
            height: landscape.width,
        }
    } else {
        OutputSize {
            width: landscape.width,
            height: landscape.height,
        }
    }
}

/// `round(seconds * fps)` frames; at least one frame, so that a degenerate request still yields
/// a playable clip.
pub fn frame_count(seconds: f64, fps: u32) -> u32 {
    // `as` saturates, and NaN becomes 0.
    ((seconds * f64::from(fps.max(1))).round() as u32).max(1)
}

/// A crop rectangle in source-image pixel coordinates (sub-pixel, f64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RenderPlan {
    pub size: OutputSize,
    pub fps: u32,
    pub frame_count: u32,
    pub motion: Motion,
    pub has_last_image: bool,
}

impl RenderPlan {
    /// [`frame_count`] frames of `seconds` at `fps` (at least one frame per second).
    pub fn new(
        size: OutputSize,
        fps: u32,
        seconds: f64,
        motion: Motion,
        has_last_image: bool,
    ) -> RenderPlan {
        RenderPlan {
            size,
            fps: fps.max(1),
            frame_count: frame_count(seconds, fps),
            motion,
            has_last_image,
        }
    }

    /// Crop of the source for `frame` (0-based): always inside [0,src_w]x[0,src_h], positive
    /// size, never bigger than the source. Frames past the end hold the last position.
    pub fn viewport(&self, frame: u32, src_width: u32, src_height: u32) -> Viewport {
        let (src_w, src_h) = (f64::from(src_width.max(1)), f64::from(src_height.max(1)));
        let (cover_w, cover_h) = self.size.cover(src_w, src_h);
        let camera = camera(self.motion, self.progress(frame), self.seconds(frame));
        let width = cover_w / camera.zoom_x.max(1.0);
        let height = cover_h / camera.zoom_y.max(1.0);
        Viewport {
            left: place(src_w, width, camera.drift_x, camera.reach),
            top: place(src_h, height, camera.drift_y, camera.reach),
            width,
            height,
        }
        .fit_inside(src_w, src_h)
    }

    /// Weight of the last image in `frame` (0.0 = only the first image .. 1.0 = only the last);
    /// always 0 without a last image. It eases in over the final 40% of the clip.
    pub fn last_image_weight(&self, frame: u32) -> f32 {
        if !self.has_last_image {
            return 0.0;
        }
        let into_fade = (self.progress(frame) - (1.0 - FADE_SHARE)) / FADE_SHARE;
        ease(into_fade) as f32
    }

    /// The size to pre-scale a source to once, so that per-frame resizes read no more pixels
    /// than the most magnified viewport needs; never larger than the source.
    pub fn working_size(&self, src_width: u32, src_height: u32) -> (u32, u32) {
        self.size.working_size(src_width, src_height)
    }

    fn progress(&self, frame: u32) -> f64 {
        if self.frame_count <= 1 {
            return 0.0;
        }
        let last = f64::from(self.frame_count - 1);
        f64::from(frame).min(last) / last
    }

    fn seconds(&self, frame: u32) -> f64 {
        f64::from(frame) / f64::from(self.fps.max(1))
    }
}

/// Start of a span of `size` within `extent`, centred and then offset by `drift` of the reach.
fn place(extent: f64, size: f64, drift: f64, reach: f64) -> f64 {
    let margin = ((extent - size) / 2.0).max(0.0);
    margin + drift.clamp(-1.0, 1.0) * margin.min(reach * size)
}

impl Viewport {
    /// Absorbs floating-point rounding so the crop never pokes out of the source, not even by
    /// one ulp (the resizer rejects such a crop).
    fn fit_inside(mut self, src_w: f64, src_h: f64) -> Viewport {
        (self.left, self.width) = fit_span(self.left, self.width, src_w);
        (self.top, self.height) = fit_span(self.top, self.height, src_h);
        self
    }
}

fn fit_span(start: f64, size: f64, extent: f64) -> (f64, f64) {
    let mut size = size.clamp(f64::MIN_POSITIVE, extent);
    let start = start.clamp(0.0, extent - size);
    while start + size > extent {
        size = f64::from_bits(size.to_bits() - 1);
    }
    (start, size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::camera::ZOOM_END;
    use proptest::prelude::*;

    const LANDSCAPE_720: OutputSize = OutputSize {
        width: 1280,
        height: 720,
    };

    fn plan(motion: Motion) -> RenderPlan {
        RenderPlan::new(LANDSCAPE_720, 24, 5.0, motion, false)
    }

    /// Largest change between two viewports, as a share of the source's sides.
    fn distance(a: Viewport, b: Viewport, src_w: u32, src_h: u32) -> f64 {
        let (w, h) = (f64::from(src_w), f64::from(src_h));
        [
            (a.left - b.left) / w,
            (a.width - b.width) / w,
            (a.top - b.top) / h,
            (a.height - b.height) / h,
        ]
        .into_iter()
        .fold(0.0, |max, d| d.abs().max(max))
    }

    fn midpoint(a: Viewport, b: Viewport) -> Viewport {
        Viewport {
            left: (a.left + b.left) / 2.0,
            top: (a.top + b.top) / 2.0,
            width: (a.width + b.width) / 2.0,
            height: (a.height + b.height) / 2.0,
        }
    }

    #[test]
    fn output_sizes_follow_the_resolution_and_orientation() {
        let size = |res, w, h| {
            let s = output_size(res, w, h);
            (s.width, s.height)
        };
        assert_eq!(size(Resolution::P720, 4000, 3000), (1280, 720));
        assert_eq!(size(Resolution::P1080, 3000, 4000), (1080, 1920));
        assert_eq!(size(Resolution::K4, 500, 500), (3840, 2160));
        assert_eq!(size(Resolution::K4, 10, 20), (2160, 3840));
    }

    #[test]
    fn zoom_in_starts_on_the_cover_fit_and_ends_magnified() {
        let plan = plan(Motion::ZoomIn);
        let first = plan.viewport(0, 4000, 3000);
        assert_eq!(
            (first.left, first.width, first.height),
            (0.0, 4000.0, 2250.0)
        );
        assert!((first.top - 375.0).abs() < 1e-9);
        let last = plan.viewport(plan.frame_count - 1, 4000, 3000);
        assert!((last.width - 4000.0 / ZOOM_END).abs() < 1e-6);
        assert!((last.left + last.width / 2.0 - 2000.0).abs() < 1e-6);
    }

    #[test]
    fn pans_move_the_viewport_the_way_they_are_named() {
        let centre = |motion, frame| {
            let v = plan(motion).viewport(frame, 3000, 3000);
            (v.left + v.width / 2.0, v.top + v.height / 2.0)
        };
        let end = plan(Motion::PanLeft).frame_count - 1;
        assert!(centre(Motion::PanLeft, end).0 < centre(Motion::PanLeft, 0).0);
        assert!(centre(Motion::PanRight, end).0 > centre(Motion::PanRight, 0).0);
        assert!(centre(Motion::PanUp, end).1 < centre(Motion::PanUp, 0).1);
        assert!(centre(Motion::PanDown, end).1 > centre(Motion::PanDown, 0).1);
    }

    #[test]
    fn squish_changes_the_viewport_aspect() {
        let plan = plan(Motion::Squish);
        let aspects: Vec<f64> = (0..plan.frame_count)
            .map(|f| plan.viewport(f, 4000, 3000))
            .map(|v| v.width / v.height)
            .collect();
        let (min, max) = aspects
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &a| (lo.min(a), hi.max(a)));
        assert!(max / min > 1.25, "aspect range {min}..{max}");
    }

    #[test]
    fn the_last_image_fades_in_over_the_end() {
        let plan = RenderPlan::new(LANDSCAPE_720, 24, 5.0, Motion::ZoomIn, true);
        let last = plan.frame_count - 1;
        let weights: Vec<f32> = (0..=last).map(|f| plan.last_image_weight(f)).collect();
        assert_eq!(weights[0], 0.0);
        assert_eq!(weights[(last as usize) / 2], 0.0);
        assert_eq!(weights[last as usize], 1.0);
        assert!(weights.windows(2).all(|w| w[0] <= w[1]));
        assert!(weights.iter().filter(|&&w| w > 0.0 && w < 1.0).count() > 40);
        let without = RenderPlan::new(LANDSCAPE_720, 24, 5.0, Motion::ZoomIn, false);
        assert!((0..=last).all(|f| without.last_image_weight(f) == 0.0));
    }

    #[test]
    fn degenerate_lengths_still_give_one_frame() {
        let one = |fps, seconds| RenderPlan::new(LANDSCAPE_720, fps, seconds, Motion::Shake, true);
        assert_eq!(one(24, 0.0).frame_count, 1);
        assert_eq!(one(0, 5.0).frame_count, 5);
        assert_eq!(one(24, f64::NAN).frame_count, 1);
        let v = one(24, 0.0).viewport(3, 100, 100);
        assert!(v.width > 0.0 && v.left + v.width <= 100.0);
    }

    fn any_motion() -> impl Strategy<Value = Motion> {
        proptest::sample::select(Motion::ALL.to_vec())
    }

    fn any_resolution() -> impl Strategy<Value = Resolution> {
        proptest::sample::select(Resolution::ALL.to_vec())
    }

    /// A source of 64..8000 px on its long side and an aspect ratio of 0.3..3.
    fn any_source() -> impl Strategy<Value = (u32, u32)> {
        (64u32..8000, 0.3f64..3.0).prop_map(|(long, aspect)| {
            let short = |side: f64| (side.round() as u32).max(1);
            if aspect >= 1.0 {
                (long, short(f64::from(long) / aspect))
            } else {
                (short(f64::from(long) * aspect), long)
            }
        })
    }

    fn any_plan() -> impl Strategy<Value = (RenderPlan, u32, u32)> {
        (
            any_motion(),
            any_resolution(),
            any_source(),
            12u32..=60,
            1.0f64..10.0,
            any::<bool>(),
        )
            .prop_map(|(motion, res, (w, h), fps, seconds, last)| {
                let size = output_size(res, w, h);
                (RenderPlan::new(size, fps, seconds, motion, last), w, h)
            })
    }

    proptest! {
        #[test]
        fn sizes_are_exact_even_and_oriented(res in any_resolution(), w in 1u32..20_000, h in 1u32..20_000) {
            let size = output_size(res, w, h);
            let (short, long) = (size.width.min(size.height), size.width.max(size.height));
            let expected = match res { Resolution::P480 => (480, 854), Resolution::P720 => (720, 1280), Resolution::P1080 => (1080, 1920), Resolution::K4 => (2160, 3840) };
            prop_assert_eq!((short, long), expected);
            prop_assert_eq!(size.height > size.width, h > w);
            prop_assert!(size.width % 2 == 0 && size.height % 2 == 0);
        }

        #[test]
        fn frame_count_is_seconds_times_fps(fps in 1u32..=120, seconds in 0.5f64..60.0) {
            let plan = RenderPlan::new(LANDSCAPE_720, fps, seconds, Motion::ZoomIn, false);
            prop_assert_eq!(plan.frame_count, (seconds * f64::from(fps)).round() as u32);
            prop_assert_eq!(plan.fps, fps);
        }

        #[test]
        fn viewports_stay_inside_the_source((plan, w, h) in any_plan()) {
            let (sw, sh) = (f64::from(w), f64::from(h));
            for frame in 0..plan.frame_count + 2 {
                let v = plan.viewport(frame, w, h);
                prop_assert!(v.left >= 0.0 && v.top >= 0.0, "{:?} frame {}", v, frame);
                prop_assert!(v.width > 0.0 && v.height > 0.0, "{:?} frame {}", v, frame);
                prop_assert!(v.left + v.width <= sw && v.top + v.height <= sh, "{:?} frame {}", v, frame);
            }
        }

        #[test]
        fn viewports_move_smoothly((plan, w, h) in any_plan()) {
            // Whole-clip moves spread over the frames, oscillations over the seconds; bounding
            // the second difference too catches jitter, which small steps alone would not.
            let (n, fps) = (f64::from(plan.frame_count), f64::from(plan.fps));
            let step_bound = 0.8 / n + 0.5 / fps;
            let turn_bound = 10.0 / (n * n) + 5.0 / (fps * fps);
            let views: Vec<Viewport> = (0..plan.frame_count).map(|f| plan.viewport(f, w, h)).collect();
            for (frame, pair) in views.windows(2).enumerate() {
                let step = distance(pair[0], pair[1], w, h);
                prop_assert!(step <= step_bound, "{:?} frame {}: step {} > {}", plan.motion, frame + 1, step, step_bound);
            }
            for (frame, triple) in views.windows(3).enumerate() {
                let turn = distance(midpoint(triple[0], triple[2]), triple[1], w, h) * 2.0;
                prop_assert!(turn <= turn_bound, "{:?} frame {}: turn {} > {}", plan.motion, frame + 1, turn, turn_bound);
            }
        }

        #[test]
        fn motions_look_different_from_each_other((plan, w, h) in any_plan()) {
            let n = plan.frame_count;
            let samples = [n / 4, n / 2, 3 * n / 4, n - 1];
            for other in Motion::ALL.into_iter().filter(|&m| m != plan.motion) {
                let other_plan = RenderPlan { motion: other, ..plan.clone() };
                let difference = samples
                    .iter()
                    .map(|&f| distance(plan.viewport(f, w, h), other_plan.viewport(f, w, h), w, h))
                    .fold(0.0, f64::max);
                prop_assert!(difference > 0.02, "{:?} vs {:?}: {}", plan.motion, other, difference);
            }
        }

        #[test]
        fn plans_are_deterministic((plan, w, h) in any_plan()) {
            let again = RenderPlan::new(plan.size, plan.fps, f64::from(plan.frame_count) / f64::from(plan.fps), plan.motion, plan.has_last_image);
            prop_assert_eq!(&again, &plan);
            for frame in 0..plan.frame_count {
                prop_assert_eq!(plan.viewport(frame, w, h), again.viewport(frame, w, h));
                prop_assert_eq!(plan.last_image_weight(frame).to_bits(), again.last_image_weight(frame).to_bits());
            }
        }

        #[test]
        fn working_size_keeps_enough_pixels((plan, w, h) in any_plan()) {
            let (ww, wh) = plan.working_size(w, h);
            prop_assert!(ww <= w && wh <= h);
            if (ww, wh) != (w, h) {
                // Pre-scaled: even the most magnified viewport still has the output's pixels.
                for frame in 0..plan.frame_count {
                    let v = plan.viewport(frame, ww, wh);
                    prop_assert!(v.width >= 0.99 * f64::from(plan.size.width), "{:?}", v);
                    prop_assert!(v.height >= 0.99 * f64::from(plan.size.height), "{:?}", v);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn cover_fit_size_still_covers_the_frame(res in any_resolution(), w in 1u32..20_000, h in 1u32..20_000) {
            let size = output_size(res, w, h);
            let (cw, ch) = size.cover_fit_size(w, h);
            prop_assert!(cw <= w && ch <= h);
            if (cw, ch) != (w, h) {
                // Shrunk: covers the frame (to rounding) and is tight on one side.
                prop_assert!(cw + 1 >= size.width && ch + 1 >= size.height, "{:?} {}x{}", size, cw, ch);
                prop_assert!(cw <= size.width + 1 || ch <= size.height + 1, "{:?} {}x{}", size, cw, ch);
            }
        }
    }
}
