//! What can be ordered: models, their resolutions (with their pixels) and durations, effects
//! (with the motion each draws), and what each costs.
//!
//! The model and effect lists served to clients, the validation of create requests and the render
//! requests all read this one catalogue, so a client can never be offered something that create
//! would refuse, nor create accept something a renderer cannot make.
//! Prices follow spec §13: a per-second `unit_credit` per resolution (4/5/6 for 720p/1080p/4k
//! reproduces Akool's published 20/25/30 credits for 5 s and 40/50/60 for 10 s).

mod builtin;
mod resolution;

pub use resolution::{Pixels, Resolution};

use super::motion::Motion;

/// Akool's model type for image-to-video.
pub const IMAGE_TO_VIDEO: i64 = 1501;

/// A resolution a model offers, at its price. `value`, `width` and `height` are copied from
/// `resolution` (by [`ResolutionOption::priced`]), so the served list reads them as plain data.
#[derive(Clone, Debug)]
pub struct ResolutionOption {
    pub resolution: Resolution,
    pub value: &'static str,
    pub width: u32,
    pub height: u32,
    /// Credits per second of video.
    pub unit_credit: i64,
}

impl ResolutionOption {
    pub const fn priced(resolution: Resolution, unit_credit: i64) -> ResolutionOption {
        let pixels = resolution.pixels();
        ResolutionOption {
            resolution,
            value: resolution.value(),
            width: pixels.width,
            height: pixels.height,
            unit_credit,
        }
    }
}

#[derive(Clone, Debug)]
pub struct GeneratedAudio {
    /// Price factor applied when `generate_audio` is requested.
    pub extra_credit_multiplier: f64,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub value: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub provider: &'static str,
    pub group: &'static str,
    pub sort: i64,
    pub resolutions: &'static [ResolutionOption],
    pub durations: &'static [i64],
    pub is_pro: bool,
    pub requires_pay: bool,
    pub generate_audio: Option<GeneratedAudio>,
    pub supports_last_frame: bool,
    pub supports_extend_prompt: bool,
    pub max_count: i64,
}

#[derive(Debug)]
pub struct Effect {
    pub id: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    pub create_time: i64,
    /// The camera motion the built-in renderer draws for it.
    pub motion: Motion,
}

#[derive(Debug)]
pub struct Catalogue {
    pub models: &'static [Model],
    pub effects: &'static [Effect],
    /// The model the single-video endpoint renders with (it takes no `model_name`).
    pub single_endpoint_model: &'static Model,
}

impl Catalogue {
    pub fn builtin() -> &'static Catalogue {
        &builtin::BUILTIN
    }

    /// This catalogue with `extra` models after its own, for as long as the process runs (it is
    /// built once, at start-up, from the configuration).
    pub fn with_models(&'static self, extra: &[Model]) -> &'static Catalogue {
        if extra.is_empty() {
            return self;
        }
        let models: &'static [Model] = Box::leak(
            self.models
                .iter()
                .chain(extra)
                .cloned()
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let single = self
            .models
            .iter()
            .position(|m| std::ptr::eq(m, self.single_endpoint_model))
            .unwrap_or(0);
        Box::leak(Box::new(Catalogue {
            models,
            effects: self.effects,
            single_endpoint_model: &models[single],
        }))
    }

    pub fn model(&self, value: &str) -> Option<&'static Model> {
        self.models.iter().find(|m| m.value == value)
    }

    /// The default for batch requests without `model_name`: the highest-`sort` model.
    pub fn default_model(&self) -> &'static Model {
        self.models
            .iter()
            .max_by_key(|m| m.sort)
            .unwrap_or(self.single_endpoint_model)
    }

    pub fn single_model(&self) -> &'static Model {
        self.single_endpoint_model
    }

    pub fn effect(&self, code: &str) -> Option<&'static Effect> {
        self.effects.iter().find(|e| e.code == code)
    }
}

impl Model {
    pub fn resolution(&self, value: &str) -> Option<&'static ResolutionOption> {
        self.resolutions.iter().find(|r| r.value == value)
    }

    /// Credits for one video: per-second price x length, x the audio multiplier when asked for.
    pub fn price(&self, resolution: &ResolutionOption, seconds: i64, generate_audio: bool) -> i64 {
        let base = resolution.unit_credit * seconds;
        match (&self.generate_audio, generate_audio) {
            (Some(audio), true) => (base as f64 * audio.extra_credit_multiplier).round() as i64,
            _ => base,
        }
    }
}

/// "Video to audio" (Update Video Audio): one credit per second of the source video (spec §13.1).
pub fn audio_update_price(video_seconds: f64) -> i64 {
    video_seconds.round().max(1.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_reproduce_akools_published_table() {
        let model = Catalogue::builtin().single_model();
        let table = [("720p", 20, 40), ("1080p", 25, 50), ("4k", 30, 60)];
        for (res, five, ten) in table {
            let r = model.resolution(res).unwrap();
            assert_eq!(model.price(r, 5, false), five);
            assert_eq!(model.price(r, 10, false), ten);
        }
    }

    #[test]
    fn generated_audio_is_charged_only_where_the_model_offers_it() {
        let cat = Catalogue::builtin();
        let plain = cat.model("AkoolImage2VideoFastV1").unwrap();
        let r720 = plain.resolution("720p").unwrap();
        assert_eq!(plain.price(r720, 5, true), 20);
        let motion = cat.model("I2VMotionV1").unwrap();
        assert_eq!(
            motion.price(motion.resolution("720p").unwrap(), 5, true),
            24
        );
    }

    #[test]
    fn effect_ids_and_codes_are_unique_and_ids_are_object_ids() {
        let cat = Catalogue::builtin();
        let mut codes = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for e in cat.effects {
            assert!(codes.insert(e.code));
            assert!(ids.insert(e.id));
            assert!(crate::domain::ObjectId::parse(e.id).is_some(), "{}", e.id);
        }
        assert_eq!(cat.default_model().value, "AkoolImage2VideoFastV1");
    }

    #[test]
    fn every_effect_names_its_own_motion() {
        let cat = Catalogue::builtin();
        let motion = |code| cat.effect(code).map(|e| e.motion);
        assert_eq!(motion("squish_89244231312"), Some(Motion::Squish));
        assert_eq!(motion("dolly_zoom_10000008"), Some(Motion::DollyZoom));
        let motions: std::collections::HashSet<Motion> =
            cat.effects.iter().map(|e| e.motion).collect();
        assert_eq!(
            motions.len(),
            Motion::ALL.len(),
            "each motion has one effect"
        );
        assert!(cat.effect("zoom_in").is_none() && cat.effect("").is_none());
    }

    #[test]
    fn audio_updates_cost_five_for_five_seconds_and_ten_for_ten() {
        assert_eq!(audio_update_price(5.063), 5);
        assert_eq!(audio_update_price(10.0), 10);
    }
}
