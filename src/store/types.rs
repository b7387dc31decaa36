//! Plain data that crosses the `Store` trait.

use crate::domain::{ObjectId, VideoStatus};
// The record the store reads and writes is the domain's; named here too so that code reaching
// it through the store keeps compiling.

#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub uid: i64,
    pub team_id: String,
    pub name: String,
    pub credits: i64,
    pub banned: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub name: String,
    pub credits: i64,
    pub team_id: String,
    pub client_id: String,
    /// SHA-256 hex of the API key, the only form lookups use.
    pub secret_hash: String,
    /// The API key sealed with the master key (webhook encryption needs it back).
    pub sealed_secret: String,
    pub created_at: i64,
}

/// What authentication needs to know about an account.
#[derive(Clone, Debug)]
pub struct AuthRecord {
    pub uid: i64,
    pub team_id: String,
    pub client_id: String,
    pub secret_hash: String,
    pub banned: bool,
    /// The account's clock is the server's plus this (emulator controls); tokens expire by it.
    pub clock_offset_ms: i64,
    /// The account has API fault rules (admin API): requests must ask `Faults::take_fault`.
    pub api_faults: bool,
}

/// One delbyids request: the caller and the ids it asked to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteRequest {
    pub uid: i64,
    pub ids: Vec<ObjectId>,
}

/// One credit change: a charge (negative), a refund or a top-up.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    pub id: i64,
    pub amount: i64,
    pub reason: String,
    pub video_id: Option<String>,
    /// Milliseconds since the epoch (the account's clock).
    pub at: i64,
}

/// Which of an account's videos to list (`Videos::list_videos`), newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoFilter {
    /// Only videos with this status (1..4).
    pub status: Option<i64>,
    /// Only videos whose prompt contains this, ignoring ASCII case.
    pub prompt_contains: Option<String>,
    /// Only videos older than this one (the page cursor: the last id of the previous page).
    pub before: Option<ObjectId>,
    pub limit: i64,
}

/// What `Videos::videos_for_poll` read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolledVideos {
    pub videos: Vec<crate::domain::Video>,
    /// Whether the account has videos scripted to move on polls. A backend may answer false
    /// without looking when none of `videos` is unfinished (nothing for a poll to move).
    pub scripts_move_on_polls: bool,
}

/// A page of `Videos::list_videos`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VideoPage {
    pub videos: Vec<crate::domain::Video>,
    /// Where the next page starts (`VideoFilter::before`); `None` after the last page. A
    /// filtered page may hold fewer than `limit` videos and still have a next page: each looks
    /// at a bounded window of the account's videos.
    pub next: Option<ObjectId>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeleteOutcome {
    /// Deleted now, in the order of the request.
    pub deleted: Vec<ObjectId>,
    /// The caller's processing videos among the ids, left untouched.
    pub processing: Vec<ObjectId>,
    /// Output files of the deleted videos, already recorded in the outbox.
    pub files: Vec<BlobDeletion>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobDeletion {
    pub id: i64,
    pub blob_key: String,
}

/// Operator/emulator control of a video (admin API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForcedStatus {
    /// Status 2, held: no worker claims it and no lease expiry returns it.
    Hold,
    /// Status 1: back in the queue; a finished output is scheduled for removal.
    Requeue,
    /// Status 4 with this reason; the charge is refunded.
    Fail(String),
}

/// The lease owner the admin "hold" uses; no worker ever has this name.
pub const HOLD_OWNER: &str = "admin-hold";

#[derive(Clone, Debug)]
pub struct Completion {
    pub id: ObjectId,
    pub owner: String,
    pub blob_key: String,
    pub video_duration: f64,
}

/// One callback to send (or sent): the video's status change it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery {
    pub id: i64,
    pub video_id: String,
    pub uid: i64,
    pub url: String,
    pub video_status: VideoStatus,
    /// The output file for status 3, to build `url` of the payload.
    pub blob_key: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// The webhook fault it was given (the effect's stored JSON), decided before its first
    /// attempt; `None` when none (or not decided yet).
    pub fault: Option<String>,
    /// Set by `claim_webhooks` only: the account has webhook fault rules, so a delivery whose
    /// fault is not decided yet must ask `Faults::take_fault`.
    pub account_faults: bool,
}

/// What a delivery's webhook fault does before it is sent (`WebhookOutbox::fault_webhook`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStep {
    /// Sent now (the fault changes the request, or nothing before it).
    Send,
    /// Due again at this server time, then sent as it is.
    Postpone(i64),
    /// State `held`: sent after the video's final callback settles.
    Hold,
    /// State `dropped`: never sent.
    Drop,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebhookAttempt {
    pub attempt: i64,
    pub at: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

/// What one delivery attempt led to.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookOutcome {
    Delivered,
    /// Try again at this time.
    Retry(i64),
    /// No more attempts; the reason is kept.
    GiveUp(String),
    /// Not sent by policy (e.g. status-2 callbacks turned off).
    Skipped,
}

/// Connection pool limits: the `[database]` section as the configuration defines it.
pub use crate::config::Database as PoolSettings;
