//! The resolutions any model can offer, with their frame sizes: the one table the prices, the
//! served model list, the stored videos and the renderer all read.

/// A frame size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
}

/// Akool's resolution names. A closed set: create refuses anything else, so a stored video
/// always has one of these and its frame size never has to be looked up with a chance of
/// failing. A backend offering another resolution adds a variant here (and its pixels below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// Offered by ComfyUI-backed models (`[[comfyui.models]]`), not by the built-in ones.
    P480,
    P720,
    P1080,
    K4,
}

impl Resolution {
    pub const ALL: [Resolution; 4] = [
        Resolution::P480,
        Resolution::P720,
        Resolution::P1080,
        Resolution::K4,
    ];

    /// The name on the wire and in the database.
    pub const fn value(self) -> &'static str {
        match self {
            Resolution::P480 => "480p",
            Resolution::P720 => "720p",
            Resolution::P1080 => "1080p",
            Resolution::K4 => "4k",
        }
    }

    /// The landscape frame (16:9, even sides; 480p is Akool's 854x480, as near 16:9 as even
    /// sides get); a portrait video swaps the sides.
    pub const fn pixels(self) -> Pixels {
        match self {
            Resolution::P480 => Pixels {
                width: 854,
                height: 480,
            },
            Resolution::P720 => Pixels {
                width: 1280,
                height: 720,
            },
            Resolution::P1080 => Pixels {
                width: 1920,
                height: 1080,
            },
            Resolution::K4 => Pixels {
                width: 3840,
                height: 2160,
            },
        }
    }

    /// Exactly as [`value`](Self::value) spells it, as create requires.
    pub fn parse(value: &str) -> Option<Resolution> {
        Self::ALL.into_iter().find(|r| r.value() == value)
    }

    /// Pixels per frame.
    pub fn area(self) -> u64 {
        let Pixels { width, height } = self.pixels();
        u64::from(width) * u64::from(height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_frames_are_even_and_16_by_9() {
        for resolution in Resolution::ALL {
            assert_eq!(Resolution::parse(resolution.value()), Some(resolution));
            let Pixels { width, height } = resolution.pixels();
            assert_eq!((width % 2, height % 2), (0, 0));
            let off_16_by_9 = (f64::from(width) / f64::from(height) - 16.0 / 9.0).abs();
            assert!(off_16_by_9 < 0.002, "{width}x{height}");
        }
        assert_eq!(Resolution::parse("4K"), None);
        assert_eq!(Resolution::parse("360p"), None);
    }
}
