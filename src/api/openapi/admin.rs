//! Request bodies of `/_admin/v1/*`, as OpenAPI schemas. Like the Akool ones (`requests`), the
//! handlers read them leniently through `domain::fields`, so these only describe them.
#![allow(dead_code)]

use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::ToSchema;

use super::formats::string_enum;
use crate::domain::faults::MAX_DELAY_MS;

#[derive(ToSchema)]
pub struct NewAccount {
    pub name: String,
    /// Starting balance; default 0.
    pub credits: Option<i64>,
    /// The account's lifecycle (emulator controls); default: the server's.
    pub lifecycle: Option<Lifecycle>,
}

#[derive(ToSchema)]
pub struct TopUp {
    /// Credits to add, a positive integer.
    pub amount: i64,
}

#[derive(ToSchema)]
pub struct ForceStatus {
    /// 1 re-queues, 2 holds as processing, 4 fails with a refund.
    pub status: i64,
    /// Becomes `error_reason` of a failed video.
    pub reason: Option<String>,
}

/// How an account's new videos move (emulator controls). `mode` is one of `render` (the real
/// renderer), `instant` (finished at once), `timed` (needs `processing_after_ms` and
/// `complete_after_ms`, both from `create_time` on the account's clock), `polls` (needs
/// `processing_after` and `complete_after`: counted `resultsByIds` calls), `manual` (moves only
/// by `/videos/{id}/advance`).
#[derive(ToSchema)]
pub struct Lifecycle {
    pub mode: String,
    pub processing_after_ms: Option<i64>,
    pub complete_after_ms: Option<i64>,
    pub processing_after: Option<i64>,
    pub complete_after: Option<i64>,
}

/// Where a video ends: `succeed`, `fail` (status 4 with `reason`, refunded) or `stuck` (stays
/// processing). `after_ms` / `after_polls` replace the lifecycle's timing.
#[derive(ToSchema)]
pub struct Outcome {
    pub result: String,
    pub reason: Option<String>,
    pub after_ms: Option<i64>,
    pub after_polls: Option<i64>,
}

#[derive(ToSchema)]
pub struct Outcomes {
    pub outcomes: Vec<Outcome>,
}

/// Forward by `ms`, or to the account time `to_ms` (one of them).
#[derive(ToSchema)]
pub struct ClockAdvance {
    pub ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Forward by `ms`.
#[derive(ToSchema)]
pub struct ClockAdvanceAll {
    pub ms: i64,
}

/// One seeded record: `status` 1-4; `resolution` and `video_length` of the single-video model
/// (default 720p, 5); `create_time` in account-clock epoch ms (default now); `error_reason`
/// for status 4.
#[derive(ToSchema)]
pub struct SeedVideo {
    pub status: i64,
    pub resolution: Option<String>,
    pub video_length: Option<i64>,
    pub prompt: Option<String>,
    pub image_url: Option<String>,
    pub create_time: Option<i64>,
    pub error_reason: Option<String>,
}

#[derive(ToSchema)]
pub struct Seed {
    /// 1 to 10,000 records.
    pub videos: Vec<SeedVideo>,
}

/// One API fault rule: `route` is an Akool operation name (`getToken`, `createBySourcePrompt`,
/// `createBatch`, `resultsByIds`, `delbyids`, `effects`, `modelList`, `updateVideoAudio`,
/// `quotaInfo`) or `*`; `probability` (0 to 1) or `next` (counts down), neither: always;
/// `effect` one of `{"code": N, "msg"?}`, `{"http_status": 429|500|502|503|504,
/// "retry_after_s"?}`, `{"delay_ms": N}`, `{"drop": "before"|"after"}`.
#[derive(ToSchema)]
pub struct ApiFaultRule {
    pub route: String,
    pub probability: Option<f64>,
    pub next: Option<i64>,
    #[schema(value_type = Object)]
    pub effect: serde_json::Value,
}

/// An account's API faults; the first rule that fires applies. With a `seed` the faults repeat
/// run to run; without one a seed is chosen and shown.
#[derive(ToSchema)]
pub struct ApiFaults {
    pub seed: Option<i64>,
    pub rules: Vec<ApiFaultRule>,
}

/// One webhook fault rule: the callback `status` it applies to (2, 3 or 4; absent: every one),
/// `probability` (0 to 1) or `next` (this many callbacks; neither: every one), and the
/// `effect`: `"duplicate"`, `"reorder"`, `"bad_signature"`, `"stale_timestamp"`, `"drop"` or
/// `{"delay_ms": N}` (1 to 600000).
#[derive(ToSchema)]
pub struct WebhookFaultRule {
    pub status: Option<i64>,
    pub probability: Option<f64>,
    pub next: Option<i64>,
    #[schema(schema_with = webhook_effect)]
    pub effect: serde_json::Value,
}

/// Rules checked in order for each callback, the first that fires applying; `seed` (default:
/// random) fixes the probability draws.
#[derive(ToSchema)]
pub struct WebhookFaults {
    pub seed: Option<i64>,
    pub rules: Vec<WebhookFaultRule>,
}

/// `"duplicate"`, `"reorder"`, `"bad_signature"`, `"stale_timestamp"`, `"drop"` or
/// `{"delay_ms": N}`.
pub fn webhook_effect() -> Schema {
    let delay = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "delay_ms",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(MAX_DELAY_MS as f64)),
        )
        .required("delay_ms")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let named = string_enum(
        &[
            "duplicate",
            "reorder",
            "bad_signature",
            "stale_timestamp",
            "drop",
        ],
        "duplicate: sent twice; reorder: a status-2 callback is sent after the video's final one; \
         bad_signature: the signature does not verify; stale_timestamp: signed over a timestamp \
         an hour old; drop: never sent",
    );
    Schema::OneOf(
        OneOfBuilder::new()
            .item(named)
            .item(delay)
            .description(Some("What the callback gets; delay_ms postpones it"))
            .build(),
    )
}
