//! Create-body parsing, case by case and under arbitrary bodies.

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
        proptest::collection::vec(any::<u8>().prop_map(Value::from), 0..3).prop_map(Value::Array),
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
