//! The typed parts of a video record. Each converts to and from its stored form (`as_str`,
//! `code`, `parse`/`from_code`), which the store uses at its edge.

use crate::domain::catalogue::{Catalogue, Effect, Model};
use crate::domain::motion::Motion;

/// How a video came to be; decides which fields its create response shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoKind {
    Single,
    Batch,
    AudioUpdate,
}

impl VideoKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoKind::Single => "single",
            VideoKind::Batch => "batch",
            VideoKind::AudioUpdate => "audio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "single" => Some(VideoKind::Single),
            "batch" => Some(VideoKind::Batch),
            "audio" => Some(VideoKind::AudioUpdate),
            _ => None,
        }
    }
}

/// Akool's `audio_type`: where the soundtrack comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioType {
    Generated = 1,
    FromUrl = 2,
    None = 3,
}

impl AudioType {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Generated),
            2 => Some(Self::FromUrl),
            3 => Some(Self::None),
            _ => None,
        }
    }

    pub fn code(self) -> i64 {
        self as i64
    }
}

/// The model a video was ordered with, by name.
///
/// A name, not a `&'static Model`: the catalogue belongs to the active render backend, and a
/// video outlives a change of backend (or a model the backend no longer offers). Its record must
/// still read and show the name it was ordered with, so the name is kept as stored and looked up
/// in the catalogue only where the model's rules matter ([`ModelName::resolve`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelName(String);

impl ModelName {
    pub fn new(name: impl Into<String>) -> ModelName {
        ModelName(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The model in `catalogue`, if it still offers one of this name.
    pub fn resolve(&self, catalogue: &Catalogue) -> Option<&'static Model> {
        catalogue.model(&self.0)
    }
}

impl From<&Model> for ModelName {
    fn from(model: &Model) -> ModelName {
        ModelName::new(model.value)
    }
}

/// The effect a video was ordered with: its code and the name its record shows.
///
/// Kept as stored rather than as a `&'static Effect`, for the reason [`ModelName`] gives: the
/// name shown stays the one the client ordered even if the catalogue later renames or drops the
/// effect. The motion comes from the catalogue ([`EffectChoice::motion`]); an effect the active
/// catalogue no longer knows has none, and the video is then rendered as its prompt says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectChoice {
    pub code: String,
    pub name: String,
}

impl EffectChoice {
    pub fn resolve(&self, catalogue: &Catalogue) -> Option<&'static Effect> {
        catalogue.effect(&self.code)
    }

    pub fn motion(&self, catalogue: &Catalogue) -> Option<Motion> {
        self.resolve(catalogue).map(|effect| effect.motion)
    }
}

impl From<&Effect> for EffectChoice {
    fn from(effect: &Effect) -> EffectChoice {
        EffectChoice {
            code: effect.code.to_owned(),
            name: effect.name.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_read_back() {
        for kind in [VideoKind::Single, VideoKind::Batch, VideoKind::AudioUpdate] {
            assert_eq!(VideoKind::parse(kind.as_str()), Some(kind));
        }
        for audio in [AudioType::Generated, AudioType::FromUrl, AudioType::None] {
            assert_eq!(AudioType::from_code(audio.code()), Some(audio));
        }
        assert_eq!(
            (VideoKind::parse("x"), AudioType::from_code(0)),
            (None, None)
        );
    }

    #[test]
    fn names_the_catalogue_no_longer_has_still_read() {
        let catalogue = Catalogue::builtin();
        let gone = ModelName::new("seedance-1.0-lite-i2v");
        assert_eq!(gone.as_str(), "seedance-1.0-lite-i2v");
        assert!(gone.resolve(catalogue).is_none());
        let known = ModelName::from(catalogue.single_model());
        assert_eq!(
            known.resolve(catalogue).map(|m| m.value),
            Some(known.as_str())
        );

        let renamed = EffectChoice {
            code: "wobble_1".into(),
            name: "Wobble".into(),
        };
        assert_eq!(renamed.motion(catalogue), None);
        let squish = EffectChoice::from(&catalogue.effects[0]);
        assert_eq!(squish.motion(catalogue), Some(Motion::Squish));
    }
}
