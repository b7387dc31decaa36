//! The camera motions a video can be rendered with, and how a prompt names one. An effect of the
//! catalogue names its motion directly (see `catalogue`); a prompt names it in words.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

    pub fn from_prompt(prompt: &str) -> Motion {
        let text = normalise_prompt(prompt);
        Self::PROMPT_KEYWORDS
            .iter()
            .filter_map(|&(keyword, motion)| word_start(&text, keyword).map(|at| (at, motion)))
            .min_by_key(|&(at, _)| at)
            .map_or(Self::DEFAULT, |(_, motion)| motion)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
