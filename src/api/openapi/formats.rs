//! Schema fragments several wire types share: closed sets of values and id formats that a
//! plain Rust type (`i64`, `String`) cannot say.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

pub fn integer_enum(values: &[i64], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

pub fn string_enum(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

pub fn object_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{24}$"))
        .description(Some("An ObjectId: 24 lower-case hex digits"))
        .build()
}

pub fn video_status() -> Object {
    integer_enum(
        &[1, 2, 3, 4],
        "1 queued, 2 processing, 3 completed (`video_url` set), 4 failed (`error_reason` set)",
    )
}

pub fn audio_type() -> Object {
    integer_enum(&[1, 2, 3], "1 generated, 2 from `audio_url`, 3 none")
}
