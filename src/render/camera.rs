//! The camera path of every motion, as pure math: where the camera looks at each instant.
//!
//! The path is a smooth function of time (eased zooms and pans, low-frequency sines for shake
//! and squish), so consecutive frames never jump; nothing is random, so a motion always yields
//! the same path. Pans name where the camera turns: "pan left" moves the viewport leftwards
//! across the source.

use std::f64::consts::TAU;

use crate::domain::motion::Motion;

/// The camera at `progress` (0..=1 through the clip) and `seconds` into it. Whole-clip moves
/// follow the progress so they always complete; oscillations follow the clock so their
/// speed does not depend on the clip length.
pub(super) fn camera(motion: Motion, progress: f64, seconds: f64) -> Camera {
    let e = ease(progress);
    match motion {
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

/// The strongest magnification any motion uses, per axis; sources are pre-scaled with it.
pub(super) const MAX_ZOOM: f64 = 1.5;
pub(super) const ZOOM_END: f64 = 1.35;
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

/// Where the camera looks at one instant, relative to the cover-fit crop of the source.
#[derive(Clone, Copy, Debug)]
pub(super) struct Camera {
    /// Magnification of the cover crop per axis; at least 1, so the viewport never outgrows it.
    pub zoom_x: f64,
    pub zoom_y: f64,
    /// Offset of the viewport centre from the source centre, in -1..=1 of the reach.
    pub drift_x: f64,
    pub drift_y: f64,
    /// The largest offset, as a share of the viewport size, so that a panorama does not make
    /// a pan race across it; the free margin of the source caps it too.
    pub reach: f64,
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
pub(super) fn ease(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn lerp(from: f64, to: f64, t: f64) -> f64 {
    from + (to - from) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_motion_magnifies_more_than_max_zoom() {
        for motion in Motion::ALL {
            for step in 0..=1000 {
                let t = f64::from(step) / 1000.0;
                let camera = camera(motion, t, t * 20.0);
                assert!(camera.zoom_x.max(camera.zoom_y) <= MAX_ZOOM, "{motion:?}");
                assert!(camera.zoom_x.min(camera.zoom_y) >= 1.0, "{motion:?}");
            }
        }
    }
}
