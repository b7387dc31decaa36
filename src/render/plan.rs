//! The render plan: output size, frame count and the camera path of every motion, as pure math.
//!
//! Invariants: output sizes are even, 16:9 and oriented like the source (portrait only when the
//! source is taller than wide); a viewport always lies inside the source with a positive size and
//! never exceeds the cover-fit crop, so the picture is cropped, never letterboxed; the camera
//! path is a smooth function of time (eased zooms and pans, low-frequency sines for shake and
//! squish), so consecutive frames never jump; nothing is random, so a plan always yields the
//! same viewports. Pans name where the camera turns: "pan left" moves the viewport leftwards
//! across the source.

use std::f64::consts::TAU;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSize {
    pub width: u32,
    pub height: u32,
}

/// (resolution, short side, long side); the long side is the 16:9 partner of the short one.
const RESOLUTIONS: &[(&str, u32, u32)] = &[
    ("720p", 720, 1280),
    ("1080p", 1080, 1920),
    ("4k", 2160, 3840),
];

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
pub fn output_size(resolution: &str, src_width: u32, src_height: u32) -> Option<OutputSize> {
    if src_width == 0 || src_height == 0 {
        return None;
    }
    let &(_, short, long) = RESOLUTIONS
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(resolution))?;
    Some(if src_height > src_width {
        OutputSize {
            width: short,
            height: long,
        }
    } else {
        OutputSize {
            width: long,
            height: short,
        }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Motion {
    ZoomIn,
    ZoomOut,
    PanLeft,
    PanRight,
    PanUp,
    PanDown,
    KenBurns,
    DollyZoom,
    Shake,
    Squish,
}

impl Motion {
    pub const ALL: [Motion; 10] = [
        Motion::ZoomIn,
        Motion::ZoomOut,
        Motion::PanLeft,
        Motion::PanRight,
        Motion::PanUp,
        Motion::PanDown,
        Motion::KenBurns,
        Motion::DollyZoom,
        Motion::Shake,
        Motion::Squish,
    ];

    /// What a prompt without any keyword gets.
    pub const DEFAULT: Motion = Motion::KenBurns;

    /// Prompt keywords, matched case-insensitively at the start of a word, with `-` and `_`
    /// read as spaces; the keyword that starts earliest in the prompt wins.
    pub const PROMPT_KEYWORDS: &'static [(&'static str, Motion)] = &[
        ("zoom in", Motion::ZoomIn),
        ("zoom out", Motion::ZoomOut),
        ("pan left", Motion::PanLeft),
        ("pan right", Motion::PanRight),
        ("pan up", Motion::PanUp),
        ("tilt up", Motion::PanUp),
        ("pan down", Motion::PanDown),
        ("tilt down", Motion::PanDown),
        ("ken burns", Motion::KenBurns),
        ("dolly", Motion::DollyZoom),
        ("shake", Motion::Shake),
        ("handheld", Motion::Shake),
        ("squish", Motion::Squish),
    ];

    /// The effect codes of the catalogue (src/domain/catalogue.rs).
    const EFFECT_CODES: &'static [(&'static str, Motion)] = &[
        ("squish_89244231312", Motion::Squish),
        ("zoom_in_10000001", Motion::ZoomIn),
        ("zoom_out_10000002", Motion::ZoomOut),
        ("pan_left_10000003", Motion::PanLeft),
        ("pan_right_10000004", Motion::PanRight),
        ("pan_up_10000005", Motion::PanUp),
        ("pan_down_10000006", Motion::PanDown),
        ("ken_burns_10000007", Motion::KenBurns),
        ("dolly_zoom_10000008", Motion::DollyZoom),
        ("shake_10000009", Motion::Shake),
    ];

    pub fn from_effect_code(code: &str) -> Option<Motion> {
        Self::EFFECT_CODES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|&(_, motion)| motion)
    }

    pub fn from_prompt(prompt: &str) -> Motion {
        let text = normalise_prompt(prompt);
        Self::PROMPT_KEYWORDS
            .iter()
            .filter_map(|&(keyword, motion)| word_start(&text, keyword).map(|at| (at, motion)))
            .min_by_key(|&(at, _)| at)
            .map_or(Self::DEFAULT, |(_, motion)| motion)
    }

    /// The camera at `progress` (0..=1 through the clip) and `seconds` into it. Whole-clip moves
    /// follow the progress so they always complete; oscillations follow the clock so their
    /// speed does not depend on the clip length.
    fn camera(self, progress: f64, seconds: f64) -> Camera {
        let e = ease(progress);
        match self {
            Motion::ZoomIn => Camera::zoom(lerp(1.0, ZOOM_END, e)),
            Motion::ZoomOut => Camera::zoom(lerp(ZOOM_END, 1.0, e)),
            Motion::PanLeft => Camera::pan(lerp(1.0, -1.0, e), 0.0),
            Motion::PanRight => Camera::pan(lerp(-1.0, 1.0, e), 0.0),
            Motion::PanUp => Camera::pan(0.0, lerp(1.0, -1.0, e)),
            Motion::PanDown => Camera::pan(0.0, lerp(-1.0, 1.0, e)),
            Motion::KenBurns => Camera {
                reach: 0.1,
                drift_x: lerp(-1.0, 1.0, e),
                drift_y: lerp(-1.0, 1.0, e),
                ..Camera::zoom(lerp(1.05, 1.3, e))
            },
            Motion::DollyZoom => Camera {
                reach: 0.04,
                drift_y: lerp(0.0, -1.0, e),
                ..Camera::zoom(dolly_zoom(progress))
            },
            Motion::Shake => Camera {
                reach: 0.025,
                drift_x: wave(seconds, 0),
                drift_y: wave(seconds, 1),
                ..Camera::zoom(1.08)
            },
            Motion::Squish => {
                let squash = SQUISH_AMOUNT * (TAU * SQUISH_HZ * seconds).sin();
                Camera {
                    zoom_x: SQUISH_ZOOM * (1.0 + squash),
                    zoom_y: SQUISH_ZOOM * (1.0 - squash),
                    ..Camera::zoom(1.0)
                }
            }
        }
    }
}

/// Lower case, with `-`, `_` and whitespace runs turned into single spaces.
fn normalise_prompt(prompt: &str) -> String {
    let spaced = prompt.to_lowercase().replace(['-', '_'], " ");
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where `keyword` first starts a word of `text` ("shake" is not in "milkshake").
fn word_start(text: &str, keyword: &str) -> Option<usize> {
    text.match_indices(keyword).map(|(at, _)| at).find(|&at| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
    })
}

/// The strongest magnification any motion uses, per axis; sources are pre-scaled with it.
pub const MAX_ZOOM: f64 = 1.5;
const ZOOM_END: f64 = 1.35;
const PAN_ZOOM: f64 = 1.25;
const DOLLY_PEAK: f64 = 1.45;
const DOLLY_SETTLE: f64 = 1.2;
const DOLLY_PEAK_AT: f64 = 0.6;
const SQUISH_ZOOM: f64 = 1.15;
const SQUISH_AMOUNT: f64 = 0.08;
const SQUISH_HZ: f64 = 1.0;
/// Fixed so the shake is the same in every render.
const SHAKE_SEED: u64 = 0x5eed_cafe_f00d_0001;
/// (frequency in Hz, weight) of the shake; weights sum to 1 so a wave stays within -1..=1.
const SHAKE_PARTIALS: [(f64, f64); 3] = [(0.35, 0.5), (0.8, 0.3), (1.7, 0.2)];
/// Share of the clip, at its end, over which the last image fades in.
const FADE_SHARE: f64 = 0.4;

/// Where the camera looks at one instant, relative to the cover-fit crop of the source.
#[derive(Clone, Copy, Debug)]
struct Camera {
    /// Magnification of the cover crop per axis; at least 1, so the viewport never outgrows it.
    zoom_x: f64,
    zoom_y: f64,
    /// Offset of the viewport centre from the source centre, in -1..=1 of the reach.
    drift_x: f64,
    drift_y: f64,
    /// The largest offset, as a share of the viewport size, so that a panorama does not make
    /// a pan race across it; the free margin of the source caps it too.
    reach: f64,
}

impl Camera {
    fn zoom(zoom: f64) -> Camera {
        Camera {
            zoom_x: zoom,
            zoom_y: zoom,
            drift_x: 0.0,
            drift_y: 0.0,
            reach: 0.0,
        }
    }

    fn pan(drift_x: f64, drift_y: f64) -> Camera {
        Camera {
            drift_x,
            drift_y,
            reach: 0.15,
            ..Camera::zoom(PAN_ZOOM)
        }
    }
}

/// Zooms in past the target, then eases partly back out; both halves start and end at rest,
/// so the turn is smooth.
fn dolly_zoom(progress: f64) -> f64 {
    if progress < DOLLY_PEAK_AT {
        lerp(1.0, DOLLY_PEAK, ease(progress / DOLLY_PEAK_AT))
    } else {
        let rest = (progress - DOLLY_PEAK_AT) / (1.0 - DOLLY_PEAK_AT);
        lerp(DOLLY_PEAK, DOLLY_SETTLE, ease(rest))
    }
}

/// A smooth pseudo-random wobble in -1..=1: a few low-frequency sines with seeded phases.
fn wave(seconds: f64, axis: u64) -> f64 {
    SHAKE_PARTIALS
        .iter()
        .zip(0u64..)
        .map(|(&(hz, weight), i)| {
            let phase = unit_random(SHAKE_SEED ^ (axis << 8 | i)) * TAU;
            weight * (TAU * hz * seconds + phase).sin()
        })
        .sum()
}

/// splitmix64, mapped to 0..1.
fn unit_random(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Smoothstep: starts and ends at rest.
fn ease(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn lerp(from: f64, to: f64, t: f64) -> f64 {
    from + (to - from) * t
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
    /// `round(seconds * fps)` frames; at least one frame at one frame per second, so that a
    /// degenerate request still yields a playable clip.
    pub fn new(
        size: OutputSize,
        fps: u32,
        seconds: f64,
        motion: Motion,
        has_last_image: bool,
    ) -> RenderPlan {
        let fps = fps.max(1);
        // `as` saturates, and NaN becomes 0.
        let frame_count = ((seconds * f64::from(fps)).round() as u32).max(1);
        RenderPlan {
            size,
            fps,
            frame_count,
            motion,
            has_last_image,
        }
    }

    /// Crop of the source for `frame` (0-based): always inside [0,src_w]x[0,src_h], positive
    /// size, never bigger than the source. Frames past the end hold the last position.
    pub fn viewport(&self, frame: u32, src_width: u32, src_height: u32) -> Viewport {
        let (src_w, src_h) = (f64::from(src_width.max(1)), f64::from(src_height.max(1)));
        let (cover_w, cover_h) = self.size.cover(src_w, src_h);
        let camera = self
            .motion
            .camera(self.progress(frame), self.seconds(frame));
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
    use crate::domain::catalogue::Catalogue;
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
        let size = |res, w, h| output_size(res, w, h).map(|s| (s.width, s.height));
        assert_eq!(size("720p", 4000, 3000), Some((1280, 720)));
        assert_eq!(size("1080p", 3000, 4000), Some((1080, 1920)));
        assert_eq!(size("4k", 500, 500), Some((3840, 2160)));
        assert_eq!(size("4K", 10, 20), Some((2160, 3840)));
        assert_eq!(size("480p", 10, 20), None);
        assert_eq!(size("720p", 0, 20), None);
    }

    #[test]
    fn every_catalogue_effect_has_a_motion() {
        let expected = [
            ("squish_89244231312", Motion::Squish),
            ("zoom_in_10000001", Motion::ZoomIn),
            ("zoom_out_10000002", Motion::ZoomOut),
            ("pan_left_10000003", Motion::PanLeft),
            ("pan_right_10000004", Motion::PanRight),
            ("pan_up_10000005", Motion::PanUp),
            ("pan_down_10000006", Motion::PanDown),
            ("ken_burns_10000007", Motion::KenBurns),
            ("dolly_zoom_10000008", Motion::DollyZoom),
            ("shake_10000009", Motion::Shake),
        ];
        for (code, motion) in expected {
            assert_eq!(Motion::from_effect_code(code), Some(motion), "{code}");
        }
        for effect in Catalogue::builtin().effects {
            assert!(
                Motion::from_effect_code(effect.code).is_some(),
                "{}",
                effect.code
            );
        }
        assert_eq!(Motion::from_effect_code("zoom_in"), None);
        assert_eq!(Motion::from_effect_code(""), None);
    }

    #[test]
    fn every_prompt_keyword_selects_its_motion() {
        for &(keyword, motion) in Motion::PROMPT_KEYWORDS {
            let prompt = format!("A cat on a sofa, {}, golden light", keyword.to_uppercase());
            assert_eq!(Motion::from_prompt(&prompt), motion, "{keyword}");
        }
        let covered: Vec<Motion> = Motion::PROMPT_KEYWORDS.iter().map(|&(_, m)| m).collect();
        assert!(Motion::ALL.iter().all(|m| covered.contains(m)));
    }

    #[test]
    fn the_earliest_keyword_in_the_prompt_wins() {
        let cases = [
            ("slow zoom out, then a pan left", Motion::ZoomOut),
            ("pan left after the zoom out", Motion::PanLeft),
            ("Dolly zoom in on the face", Motion::DollyZoom),
            ("handheld camera, zoom in", Motion::Shake),
            ("Tilt Down to the street, ken burns", Motion::PanDown),
        ];
        for (prompt, motion) in cases {
            assert_eq!(Motion::from_prompt(prompt), motion, "{prompt}");
        }
    }

    #[test]
    fn prompts_tolerate_spelling_and_fall_back_to_ken_burns() {
        let cases = [
            ("ZOOM-IN slowly", Motion::ZoomIn),
            ("zoom   in", Motion::ZoomIn),
            ("a pan_right", Motion::PanRight),
            ("squished jelly", Motion::Squish),
            ("a milkshake on a table", Motion::KenBurns),
            ("a quiet lake", Motion::KenBurns),
            ("", Motion::KenBurns),
        ];
        for (prompt, motion) in cases {
            assert_eq!(Motion::from_prompt(prompt), motion, "{prompt}");
        }
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

    fn any_resolution() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec!["720p", "1080p", "4k"])
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
                let size = output_size(res, w, h).unwrap();
                (RenderPlan::new(size, fps, seconds, motion, last), w, h)
            })
    }

    proptest! {
        #[test]
        fn sizes_are_exact_even_and_oriented(res in any_resolution(), w in 1u32..20_000, h in 1u32..20_000) {
            let size = output_size(res, w, h).unwrap();
            let (short, long) = (size.width.min(size.height), size.width.max(size.height));
            let expected = match res { "720p" => (720, 1280), "1080p" => (1080, 1920), _ => (2160, 3840) };
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
            let size = output_size(res, w, h).unwrap();
            let (cw, ch) = size.cover_fit_size(w, h);
            prop_assert!(cw <= w && ch <= h);
            if (cw, ch) != (w, h) {
                // Shrunk: covers the frame (to rounding) and is tight on one side.
                prop_assert!(cw + 1 >= size.width && ch + 1 >= size.height, "{:?} {}x{}", size, cw, ch);
                prop_assert!(cw <= size.width + 1 || ch <= size.height + 1, "{:?} {}x{}", size, cw, ch);
            }
        }
    }

    #[test]
    fn no_motion_magnifies_more_than_max_zoom() {
        for motion in Motion::ALL {
            for step in 0..=1000 {
                let t = f64::from(step) / 1000.0;
                let camera = motion.camera(t, t * 20.0);
                assert!(camera.zoom_x.max(camera.zoom_y) <= MAX_ZOOM, "{motion:?}");
                assert!(camera.zoom_x.min(camera.zoom_y) >= 1.0, "{motion:?}");
            }
        }
    }
}
