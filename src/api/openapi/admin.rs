//! Request bodies of `/_admin/v1/*`, as OpenAPI schemas. Like the Akool ones (`requests`), the
//! handlers read them leniently through `domain::fields`, so these only describe them.
#![allow(dead_code)]

use utoipa::ToSchema;

#[derive(ToSchema)]
pub struct NewAccount {
    pub name: String,
    /// Starting balance; default 0.
    pub credits: Option<i64>,
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
