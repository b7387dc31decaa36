//! Bodies and answers of `/_admin/v1/*`, as OpenAPI schemas (never constructed).
#![allow(dead_code)]

use utoipa::ToSchema;

#[derive(ToSchema)]
pub struct NewAccount {
    pub name: String,
    /// Starting balance; default 0.
    pub credits: Option<i64>,
}

/// A new account; `clientSecret` (the API key) is shown only here.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIssued {
    pub uid: i64,
    pub team_id: String,
    pub name: String,
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(rename = "clientSecret")]
    pub client_secret: String,
    pub credits: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInfo {
    pub uid: i64,
    pub team_id: String,
    pub name: String,
    pub credits: i64,
    pub banned: bool,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Sum of the credit ledger; equals `credits` unless something is wrong.
    pub ledger_sum: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanState {
    pub uid: i64,
    pub banned: bool,
}

#[derive(ToSchema)]
pub struct TopUp {
    /// Credits to add, a positive integer.
    pub amount: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Balance {
    pub uid: i64,
    pub credits: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotatedSecret {
    pub uid: i64,
    #[serde(rename = "clientSecret")]
    pub client_secret: String,
}

#[derive(ToSchema)]
pub struct ForceStatus {
    /// 1 re-queues, 2 holds as processing, 4 fails with a refund.
    pub status: i64,
    /// Becomes `error_reason` of a failed video.
    pub reason: Option<String>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusForced {
    #[serde(rename = "_id")]
    pub id: String,
    pub status: i64,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryAttempt {
    pub attempt: i64,
    pub at: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub id: i64,
    pub video_id: String,
    pub uid: i64,
    pub url: String,
    /// The video status the callback reports.
    pub video_status: i64,
    /// `pending`, `delivered`, `failed` or `skipped`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub attempt_log: Vec<DeliveryAttempt>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deliveries {
    /// Newest first.
    pub result: Vec<Delivery>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redelivered {
    pub id: i64,
    /// Always `pending`.
    pub state: String,
}
