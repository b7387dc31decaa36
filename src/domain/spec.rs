//! Create requests parsed into a `VideoSpec`: everything a render needs, already validated
//! against the catalogue and priced. Both create endpoints end here, so one set of rules holds.

use serde_json::Value;

use super::catalogue::{Catalogue, Effect, Model, ResolutionOption};
use super::fields::{http_url, max_chars, FieldError, Fields};

pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_PROMPT_CHARS: usize = 5000;
pub const MAX_NEGATIVE_PROMPT_CHARS: usize = 1000;
/// Akool's example file names keep the first 24 characters of the prompt.
const FILE_NAME_PROMPT_CHARS: usize = 24;

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

#[derive(Clone, Debug)]
pub struct VideoSpec {
    pub model: &'static Model,
    pub resolution: &'static ResolutionOption,
    pub video_length: i64,
    pub image_url: String,
    pub last_image_url: Option<String>,
    pub prompt: String,
    pub negative_prompt: String,
    pub extend_prompt: bool,
    pub audio_type: AudioType,
    pub audio_url: String,
    pub generate_audio: bool,
    pub is_premium_model: bool,
    pub effect: Option<&'static Effect>,
    pub webhook_url: String,
    /// Credits for one video of this spec.
    pub price: i64,
}

impl VideoSpec {
    /// `"Image2Video_"` + the first 24 characters of the prompt (or the effect's name) + `.mp4`,
    /// without the characters [`file_name_text`] leaves out.
    pub fn file_name(&self) -> String {
        let prompt = file_name_text(&self.prompt);
        let source = match (prompt.trim().is_empty(), self.effect) {
            (true, Some(effect)) => file_name_text(effect.name),
            _ => prompt,
        };
        let head: String = source.chars().take(FILE_NAME_PROMPT_CHARS).collect();
        format!("Image2Video_{head}.mp4")
    }
}

/// `text` fit for a file name that clients save and show: control characters (Unicode Cc, such
/// as NUL) and invisible format characters (Cf: bidi overrides, zero-width characters, BOM)
/// are left out, because a bidi override makes `"\u{202e}gnp.exe"` display as `exe.png` and a NUL
/// cuts the name short in C APIs. Line breaks and tabs become a space so that words stay apart.
/// The prompt itself is stored and echoed as sent; only the derived name is cleaned.
pub fn file_name_text(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                Some(' ')
            }
            c if c.is_control() || is_format_char(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Unicode general category Cf (format), as of Unicode 16.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// `createBySourcePrompt`: the fixed single-endpoint model, 720p/1080p/4k, 5 or 10 seconds.
pub fn parse_single(body: &Value, catalogue: &Catalogue) -> Result<VideoSpec, FieldError> {
    let f = Fields::of(body)?;
    let model = catalogue.single_model();
    let resolution_value = f.required_string("resolution")?;
    let resolution = model.resolution(resolution_value).ok_or_else(|| {
        FieldError(format!(
            "resolution must be one of {}",
            list(model.resolutions.iter().map(|r| r.value))
        ))
    })?;
    let audio_type = audio_type(&f, true)?;
    let common = common_fields(&f, catalogue, model)?;
    if f.has("last_image_url") && !f.string("last_image_url")?.unwrap_or("").is_empty() {
        return Err(FieldError::new(
            "last_image_url is only accepted by the batch endpoint",
        ));
    }
    finish(common, model, resolution, audio_type, false, None)
}

/// `createBySourcePrompt/batch`: model-driven; returns the spec and how many videos to make.
pub fn parse_batch(body: &Value, catalogue: &Catalogue) -> Result<(VideoSpec, i64), FieldError> {
    let f = Fields::of(body)?;
    let model = match f.string("model_name")?.filter(|s| !s.is_empty()) {
        None => catalogue.default_model(),
        Some(name) => catalogue.model(name).ok_or_else(|| {
            FieldError(format!(
                "model_name must be one of {}",
                list(catalogue.models.iter().map(|m| m.value))
            ))
        })?,
    };
    let resolution_value = f.string("resolution")?.filter(|s| !s.is_empty());
    let resolution = match resolution_value {
        None => return Err(FieldError::new("resolution is required")),
        Some(value) => model.resolution(value).ok_or_else(|| {
            FieldError(format!(
                "resolution must be one of {} for model {}",
                list(model.resolutions.iter().map(|r| r.value)),
                model.value
            ))
        })?,
    };
    let count = f.int("count")?.unwrap_or(1);
    if !(1..=model.max_count).contains(&count) {
        return Err(FieldError(format!(
            "count must be between 1 and {} for model {}",
            model.max_count, model.value
        )));
    }
    if f.has("multi_prompt") {
        return Err(FieldError(format!(
            "multi_prompt is not supported by model {}",
            model.value
        )));
    }
    let audio_type = audio_type(&f, false)?;
    let generate_audio =
        f.bool("generate_audio")?.unwrap_or(false) && model.generate_audio.is_some();
    let last_image_url = match f.string("last_image_url")?.filter(|s| !s.is_empty()) {
        None => None,
        Some(_) if !model.supports_last_frame => {
            return Err(FieldError(format!(
                "last_image_url is not supported by model {}",
                model.value
            )))
        }
        Some(url) => {
            http_url("last_image_url", url, MAX_URL_CHARS)?;
            no_nul("last_image_url", url)?;
            Some(url.to_owned())
        }
    };
    let common = common_fields(&f, catalogue, model)?;
    let spec = finish(
        common,
        model,
        resolution,
        audio_type,
        generate_audio,
        last_image_url,
    )?;
    Ok((spec, count))
}

struct Common {
    image_url: String,
    prompt: String,
    negative_prompt: String,
    extend_prompt: bool,
    audio_url: String,
    video_length: i64,
    is_premium_model: bool,
    effect: Option<&'static Effect>,
    webhook_url: String,
}

fn common_fields(f: &Fields, catalogue: &Catalogue, model: &Model) -> Result<Common, FieldError> {
    let image_url = f.required_string("image_url")?;
    http_url("image_url", image_url, MAX_URL_CHARS)?;
    no_nul("image_url", image_url)?;

    let effect = match f.string("effect_code")?.filter(|s| !s.is_empty()) {
        None => None,
        Some(code) => Some(catalogue.effect(code).ok_or_else(|| {
            FieldError(format!(
                "effect_code {code} is not in the effects list (GET /api/open/v4/image2Video/effects)"
            ))
        })?),
    };
    // With an effect the prompt is disregarded (spec §4.1), so it may then be left out.
    let prompt = match effect {
        Some(_) => f.string("prompt")?.unwrap_or(""),
        None => f.required_string("prompt")?,
    };
    max_chars("prompt", prompt, MAX_PROMPT_CHARS)?;
    no_nul("prompt", prompt)?;
    let negative_prompt = f.string("negative_prompt")?.unwrap_or("");
    max_chars(
        "negative_prompt",
        negative_prompt,
        MAX_NEGATIVE_PROMPT_CHARS,
    )?;
    no_nul("negative_prompt", negative_prompt)?;

    let video_length = f.required_int("video_length")?;
    if !model.durations.contains(&video_length) {
        return Err(FieldError(format!(
            "video_length must be one of {} seconds",
            list(model.durations.iter())
        )));
    }

    let audio_url = f.string("audio_url")?.unwrap_or("");
    if !audio_url.is_empty() {
        http_url("audio_url", audio_url, MAX_URL_CHARS)?;
        no_nul("audio_url", audio_url)?;
    }

    // Akool's request field is `webhookurl`; its notes spell it `webhookUrl`, so accept both.
    let webhook_url = match f.string("webhookurl")? {
        Some(url) => url,
        None => f.string("webhookUrl")?.unwrap_or(""),
    };
    if !webhook_url.is_empty() {
        http_url("webhookurl", webhook_url, MAX_URL_CHARS)?;
        no_nul("webhookurl", webhook_url)?;
    }

    Ok(Common {
        image_url: image_url.to_owned(),
        prompt: prompt.to_owned(),
        negative_prompt: negative_prompt.to_owned(),
        extend_prompt: f.bool("extend_prompt")?.unwrap_or(false),
        audio_url: audio_url.to_owned(),
        video_length,
        is_premium_model: f.bool("is_premium_model")?.unwrap_or(false),
        effect,
        webhook_url: webhook_url.to_owned(),
    })
}

/// `audio_type` is required on the single endpoint; batch defaults to no audio.
fn audio_type(f: &Fields, required: bool) -> Result<AudioType, FieldError> {
    let code = if required {
        f.required_int("audio_type")?
    } else {
        match f.int("audio_type")? {
            Some(code) => code,
            None => return Ok(AudioType::None),
        }
    };
    AudioType::from_code(code).ok_or_else(|| {
        FieldError::new("audio_type must be 1 (generated), 2 (from audio_url) or 3 (none)")
    })
}

fn finish(
    c: Common,
    model: &'static Model,
    resolution: &'static ResolutionOption,
    audio_type: AudioType,
    generate_audio: bool,
    last_image_url: Option<String>,
) -> Result<VideoSpec, FieldError> {
    if audio_type == AudioType::FromUrl && c.audio_url.is_empty() {
        return Err(FieldError::new(
            "audio_url is required when audio_type is 2",
        ));
    }
    let price = model.price(resolution, c.video_length, generate_audio);
    Ok(VideoSpec {
        model,
        resolution,
        video_length: c.video_length,
        image_url: c.image_url,
        last_image_url,
        prompt: c.prompt,
        negative_prompt: c.negative_prompt,
        extend_prompt: c.extend_prompt && model.supports_extend_prompt,
        audio_type,
        audio_url: c.audio_url,
        generate_audio,
        is_premium_model: c.is_premium_model,
        effect: c.effect,
        webhook_url: c.webhook_url,
        price,
    })
}

/// Stored text may not hold U+0000: PostgreSQL `TEXT` cannot, so without this check the same
/// request would be stored on SQLite and fail with a server error on PostgreSQL. (The URL
/// parser accepts a NUL, percent-encoding it, but URLs are stored as sent.)
fn no_nul(name: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        return Err(FieldError(format!(
            "{name} must not contain NUL (U+0000) characters"
        )));
    }
    Ok(())
}

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn single() -> Value {
        json!({
            "image_url": "https://example.com/a.png",
            "prompt": "Waves crash along shore while the camera drifts.",
            "negative_prompt": "",
            "resolution": "1080p",
            "audio_type": "3",
            "video_length": 10
        })
    }

    #[test]
    fn a_valid_single_request_is_priced_and_named_like_akools_example() {
        let spec = parse_single(&single(), Catalogue::builtin()).unwrap();
        assert_eq!(spec.price, 50);
        assert_eq!(spec.audio_type, AudioType::None);
        assert_eq!(spec.file_name(), "Image2Video_Waves crash along shore .mp4");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                "resolution",
                json!("8k"),
                "resolution must be one of 720p, 1080p, 4k",
            ),
            ("audio_type", json!(7), "audio_type must be 1"),
            (
                "video_length",
                json!(7),
                "video_length must be one of 5, 10 seconds",
            ),
            (
                "video_length",
                json!("five"),
                "video_length must be an integer",
            ),
            (
                "image_url",
                json!("file:///etc/passwd"),
                "image_url must be an absolute",
            ),
            ("image_url", json!(""), "image_url is required"),
            ("prompt", json!(null), "prompt is required"),
            (
                "effect_code",
                json!("nope"),
                "effect_code nope is not in the effects list",
            ),
            (
                "webhookurl",
                json!("not a url"),
                "webhookurl must be an absolute",
            ),
            (
                "extend_prompt",
                json!(3),
                "extend_prompt must be true or false",
            ),
        ];
        for (field, value, expected) in cases {
            let mut body = single();
            body[field] = value;
            let err = parse_single(&body, Catalogue::builtin()).unwrap_err();
            assert!(err.0.starts_with(expected), "{field}: {}", err.0);
        }
    }

    #[test]
    fn audio_url_is_required_for_audio_type_two_only() {
        let mut body = single();
        body["audio_type"] = json!(2);
        assert!(parse_single(&body, Catalogue::builtin()).is_err());
        body["audio_url"] = json!("https://example.com/a.mp3");
        assert!(parse_single(&body, Catalogue::builtin()).is_ok());
    }

    #[test]
    fn an_effect_makes_the_prompt_optional_and_names_the_file() {
        let mut body = single();
        body.as_object_mut().unwrap().remove("prompt");
        body["effect_code"] = json!("squish_89244231312");
        let spec = parse_single(&body, Catalogue::builtin()).unwrap();
        assert_eq!(spec.file_name(), "Image2Video_Squish.mp4");
    }

    #[test]
    fn file_names_leave_out_control_and_format_characters() {
        assert_eq!(
            file_name_text("zoom in \u{202e}gnp.exe\u{0}"),
            "zoom in gnp.exe"
        );
        assert_eq!(file_name_text("a\nb\tc\r\nd\u{2028}e"), "a b c  d e");
        let hidden: String = [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{feff}',
            '\u{fff9}',
            '\u{e0001}',
            '\u{e007f}',
        ]
        .iter()
        .collect();
        assert_eq!(file_name_text(&format!("x{hidden}y")), "xy");
        // Visible text of any script, emoji and ordinary spaces are kept as they are.
        for kept in [
            "Waves crash",
            "海浪 拍打",
            "موج",
            "é\u{301}",
            "🌊",
            "a\u{a0}b\u{3000}c",
        ] {
            assert_eq!(file_name_text(kept), kept);
        }
    }

    #[test]
    fn the_file_name_counts_24_characters_after_cleaning() {
        let mut body = single();
        body["prompt"] = json!("\u{202e}\u{7}\u{200b}Waves crash along shore while");
        let spec = parse_single(&body, Catalogue::builtin()).unwrap();
        assert_eq!(spec.file_name(), "Image2Video_Waves crash along shore .mp4");
        assert!(
            spec.prompt.starts_with("\u{202e}\u{7}"),
            "the prompt is kept as sent"
        );

        // A prompt of nothing visible names the file after the effect, like an empty one.
        body["prompt"] = json!("\u{200b}\u{feff}");
        body["effect_code"] = json!("squish_89244231312");
        let spec = parse_single(&body, Catalogue::builtin()).unwrap();
        assert_eq!(spec.file_name(), "Image2Video_Squish.mp4");
    }

    #[test]
    fn nul_is_refused_in_stored_text() {
        for (field, value) in [
            ("prompt", "zoom in\u{0}"),
            ("negative_prompt", "\u{0}"),
            ("image_url", "https://example.com/a\u{0}.png"),
            ("audio_url", "https://example.com/a\u{0}.mp3"),
            ("webhookurl", "https://example.com/hook\u{0}"),
        ] {
            let mut body = single();
            body[field] = json!(value);
            let err = parse_single(&body, Catalogue::builtin()).unwrap_err();
            assert_eq!(
                err.0,
                format!("{field} must not contain NUL (U+0000) characters")
            );
        }
    }

    #[test]
    fn batch_follows_the_model() {
        let mut body = single();
        body["model_name"] = json!("AkoolImage2VideoFastV1");
        body["count"] = json!("3");
        body["resolution"] = json!("720p");
        body["video_length"] = json!(5);
        let (spec, count) = parse_batch(&body, Catalogue::builtin()).unwrap();
        assert_eq!((spec.price, count), (20, 3));

        body["count"] = json!(11);
        assert!(parse_batch(&body, Catalogue::builtin()).is_err());
        body["count"] = json!(1);
        body["last_image_url"] = json!("https://example.com/b.png");
        let err = parse_batch(&body, Catalogue::builtin()).unwrap_err();
        assert!(err.0.contains("not supported by model"), "{}", err.0);
        body["model_name"] = json!("I2VMotionV1");
        body["generate_audio"] = json!(true);
        let (spec, _) = parse_batch(&body, Catalogue::builtin()).unwrap();
        assert_eq!(spec.price, 24);
        assert_eq!(
            spec.last_image_url.as_deref(),
            Some("https://example.com/b.png")
        );
    }

    /// Arbitrary JSON values for one field: the types clients send, right and wrong.
    fn any_field() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
            prop_oneof![
                Just("720p"),
                Just("1080p"),
                Just("4k"),
                Just("5"),
                Just("10"),
                Just("3"),
                Just("2"),
                Just("true"),
                Just("https://example.com/a.png"),
                Just("AkoolImage2VideoFastV1"),
                Just("I2VMotionV1"),
                Just("squish_89244231312")
            ]
            .prop_map(Value::from),
            proptest::collection::vec(any::<u8>().prop_map(Value::from), 0..3)
                .prop_map(Value::Array),
        ]
    }

    proptest::proptest! {
        /// Whatever the body, parsing never panics; an accepted body always yields a spec that
        /// obeys the catalogue, and a refused one names a field or the body.
        #[test]
        fn create_bodies_parse_or_are_refused_with_a_message(
            fields in proptest::collection::btree_map(
                proptest::sample::select(vec![
                    "image_url", "prompt", "negative_prompt", "resolution", "audio_type", "audio_url",
                    "video_length", "effect_code", "webhookurl", "model_name", "count", "last_image_url",
                    "generate_audio", "extend_prompt", "is_premium_model", "multi_prompt",
                ]),
                any_field(),
                0..12,
            ),
            base in proptest::bool::ANY,
        ) {
            let mut body = if base { single() } else { json!({}) };
            for (k, v) in fields {
                body[k] = v;
            }
            let catalogue = Catalogue::builtin();
            match parse_single(&body, catalogue) {
                Ok(spec) => {
                    proptest::prop_assert!(spec.model.durations.contains(&spec.video_length));
                    proptest::prop_assert!(spec.price > 0);
                    proptest::prop_assert!(spec.image_url.starts_with("http"));
                    proptest::prop_assert!(spec.audio_type != AudioType::FromUrl || !spec.audio_url.is_empty());
                }
                Err(e) => proptest::prop_assert!(!e.0.is_empty()),
            }
            match parse_batch(&body, catalogue) {
                Ok((spec, count)) => {
                    proptest::prop_assert!((1..=spec.model.max_count).contains(&count));
                    proptest::prop_assert!(spec.model.resolution(spec.resolution.value).is_some());
                    proptest::prop_assert!(spec.last_image_url.is_none() || spec.model.supports_last_frame);
                }
                Err(e) => proptest::prop_assert!(!e.0.is_empty()),
            }
        }
    }
}
