//! The built-in renderer's catalogue: two camera-motion models and ten effects.

use super::{Catalogue, Effect, GeneratedAudio, Model, Resolution, ResolutionOption};
use crate::domain::motion::Motion;

static STANDARD_RESOLUTIONS: [ResolutionOption; 3] = [
    ResolutionOption::priced(Resolution::P720, 4),
    ResolutionOption::priced(Resolution::P1080, 5),
    ResolutionOption::priced(Resolution::K4, 6),
];

static MODELS: [Model; 2] = [
    Model {
        value: "AkoolImage2VideoFastV1",
        label: "Akool Image2Video Fast V1",
        description: "Camera motion over the still image (zoom, pan, Ken Burns), rendered locally",
        provider: "akool",
        group: "akool",
        sort: 100,
        resolutions: &STANDARD_RESOLUTIONS,
        durations: &[5, 10],
        is_pro: false,
        requires_pay: false,
        generate_audio: None,
        supports_last_frame: false,
        supports_extend_prompt: false,
        max_count: 10,
    },
    Model {
        value: "I2VMotionV1",
        label: "i2v Motion V1",
        description:
            "Camera motion with an optional cross-fade to a last frame and a generated soundtrack",
        provider: "i2v",
        group: "i2v",
        sort: 90,
        resolutions: &STANDARD_RESOLUTIONS,
        durations: &[5, 10],
        is_pro: false,
        requires_pay: false,
        generate_audio: Some(GeneratedAudio {
            extra_credit_multiplier: 1.2,
        }),
        supports_last_frame: true,
        supports_extend_prompt: true,
        max_count: 10,
    },
];

/// Fixed ids and times so that the list is identical across restarts and processes.
const EFFECTS_CREATED: i64 = 1752576694502;

static EFFECTS: [Effect; 10] = [
    Effect {
        id: "687632b95a0f52799eeed701",
        code: "squish_89244231312",
        name: "Squish",
        create_time: EFFECTS_CREATED,
        motion: Motion::Squish,
    },
    Effect {
        id: "687632b95a0f52799eeed702",
        code: "zoom_in_10000001",
        name: "Zoom In",
        create_time: EFFECTS_CREATED,
        motion: Motion::ZoomIn,
    },
    Effect {
        id: "687632b95a0f52799eeed703",
        code: "zoom_out_10000002",
        name: "Zoom Out",
        create_time: EFFECTS_CREATED,
        motion: Motion::ZoomOut,
    },
    Effect {
        id: "687632b95a0f52799eeed704",
        code: "pan_left_10000003",
        name: "Pan Left",
        create_time: EFFECTS_CREATED,
        motion: Motion::PanLeft,
    },
    Effect {
        id: "687632b95a0f52799eeed705",
        code: "pan_right_10000004",
        name: "Pan Right",
        create_time: EFFECTS_CREATED,
        motion: Motion::PanRight,
    },
    Effect {
        id: "687632b95a0f52799eeed706",
        code: "pan_up_10000005",
        name: "Pan Up",
        create_time: EFFECTS_CREATED,
        motion: Motion::PanUp,
    },
    Effect {
        id: "687632b95a0f52799eeed707",
        code: "pan_down_10000006",
        name: "Pan Down",
        create_time: EFFECTS_CREATED,
        motion: Motion::PanDown,
    },
    Effect {
        id: "687632b95a0f52799eeed708",
        code: "ken_burns_10000007",
        name: "Ken Burns",
        create_time: EFFECTS_CREATED,
        motion: Motion::KenBurns,
    },
    Effect {
        id: "687632b95a0f52799eeed709",
        code: "dolly_zoom_10000008",
        name: "Dolly Zoom",
        create_time: EFFECTS_CREATED,
        motion: Motion::DollyZoom,
    },
    Effect {
        id: "687632b95a0f52799eeed70a",
        code: "shake_10000009",
        name: "Handheld Shake",
        create_time: EFFECTS_CREATED,
        motion: Motion::Shake,
    },
];

pub(super) static BUILTIN: Catalogue = Catalogue {
    models: &MODELS,
    effects: &EFFECTS,
    single_endpoint_model: &MODELS[0],
};
