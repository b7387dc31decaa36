//! The emulator's state (admin API): per account a lifecycle, a clock offset and a queue of
//! scripted outcomes; per emulated video its script and poll count. Emulated videos are ordinary
//! rows that no render worker claims: queued ones wait with `run_after = SCRIPTED_RUN_AFTER`,
//! processing ones are leased to `EMULATOR_OWNER` with no expiry, so every fence the render queue
//! has (deletes refusing processing videos, completion by the lease owner only) holds for them.

use async_trait::async_trait;

use super::{BlobDeletion, StoreResult};
use crate::domain::emulation::{Lifecycle, Outcome, Script};
use crate::domain::{ObjectId, Video};

/// `run_after` of a queued emulated video: later than any claim ever looks.
pub const SCRIPTED_RUN_AFTER: i64 = i64::MAX;
/// The lease owner of a processing emulated video; no worker ever has this name.
pub const EMULATOR_OWNER: &str = "emulator";

/// An account's emulator settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EmulationState {
    /// `None`: the server's default (`[emulator] lifecycle`).
    pub lifecycle: Option<Lifecycle>,
    /// The account's clock is the server's plus this.
    pub clock_offset_ms: i64,
    /// Scripted outcomes waiting for the account's next videos.
    pub outcomes_queued: i64,
}

/// A video with the script it follows (`None`: rendered for real) and its counted polls.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedVideo {
    pub video: Video,
    pub script: Option<Script>,
    pub polls: i64,
}

/// One step of an emulated video, fenced like a worker's: it happens only when the video is
/// still where the emulator left it.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptStep {
    /// 1 -> 2; `due_at` is the account-clock time of the next timed step, if any.
    Start { due_at: Option<i64> },
    /// 2 -> 3 with this (staged) output file.
    Complete {
        blob_key: String,
        video_duration: f64,
    },
    /// 2 -> 4 with refund.
    Fail { reason: String },
}

/// What an operator's outcome or advance found.
#[derive(Clone, Debug, PartialEq)]
pub enum TakeOver {
    NoVideo,
    /// Finished (3 or 4): nothing changed.
    Finished(Video),
    /// The video follows `script` now; a worker rendering it has lost its lease.
    Taken(Video),
}

/// What resetting an account removed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResetReport {
    pub videos_removed: u64,
    /// The balance after the reset: the account's initial grant.
    pub credits: i64,
    /// Output files of the removed videos, already recorded in the deletion outbox.
    pub files: Vec<BlobDeletion>,
}

#[async_trait]
pub trait Emulation: Send + Sync + 'static {
    /// `None` when there is no such account.
    async fn emulation(&self, uid: i64) -> StoreResult<Option<EmulationState>>;
    /// `None` puts the account back on the server's default. False when there is no account.
    async fn set_lifecycle(&self, uid: i64, lifecycle: Option<&Lifecycle>) -> StoreResult<bool>;
    /// Moves the clock of `uid` (every account when `None`) forward by `by_ms`, and makes their
    /// pending callbacks due that much sooner. Returns how many accounts moved.
    async fn advance_clock(&self, uid: Option<i64>, by_ms: i64) -> StoreResult<u64>;
    /// Appends to the account's outcome queue and returns the queue; `None` without account.
    async fn push_outcomes(
        &self,
        uid: i64,
        outcomes: &[Outcome],
    ) -> StoreResult<Option<Vec<Outcome>>>;
    async fn outcomes(&self, uid: i64) -> StoreResult<Option<Vec<Outcome>>>;
    /// False when there is no such account.
    async fn clear_outcomes(&self, uid: i64) -> StoreResult<bool>;
    /// `Videos::create_videos` under `lifecycle`: charges and inserts the videos, each taking the
    /// next queued outcome, all in one transaction. Returns each video's script (`None`: it is
    /// queued for the renderer).
    async fn create_planned(
        &self,
        uid: i64,
        videos: Vec<Video>,
        lifecycle: &Lifecycle,
        now: i64,
    ) -> StoreResult<Vec<Option<Script>>>;
    /// The video (whoever owns it) with its script.
    async fn scripted(&self, id: ObjectId) -> StoreResult<Option<ScriptedVideo>>;
    /// Takes one step of an emulated video at account time `now`; false when the video is no
    /// longer where the step starts (deleted, forced, reset, or another process took it).
    async fn take_step(&self, id: ObjectId, step: ScriptStep, now: i64) -> StoreResult<bool>;
    /// Makes an unfinished video follow `script` (polls counted afresh), taking it from the
    /// renderer if it had it.
    async fn set_script(&self, id: ObjectId, script: &Script, now: i64) -> StoreResult<TakeOver>;
    /// Counts one `resultsByIds` call for those of the account's `ids` that move by polls;
    /// returns them.
    async fn count_polls(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<ObjectId>>;
    /// Emulated videos whose next timed step is due on their account's clock (server time
    /// `server_now`), of one account or all, soonest first.
    async fn due_scripts(
        &self,
        server_now: i64,
        uid: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ObjectId>>;
    /// Accounts whose clock is ahead of the server's, with their offset.
    async fn advanced_clocks(&self) -> StoreResult<Vec<(i64, i64)>>;
    /// `Videos::expire_outputs` for one account.
    async fn expire_outputs_of(
        &self,
        uid: i64,
        completed_before: i64,
        now: i64,
        limit: i64,
    ) -> StoreResult<u64>;
    /// Removes every video of the account (any status) with its callbacks, clears its outcome
    /// queue, lifecycle and clock, and sets its balance back to its initial grant (one ledger
    /// row, reason "reset"). `None` when there is no such account.
    async fn reset_account(&self, uid: i64, now: i64) -> StoreResult<Option<ResetReport>>;
    /// Every account's uid.
    async fn account_uids(&self) -> StoreResult<Vec<i64>>;
    /// Inserts finished or waiting records as they are (status, output, error), charging
    /// nothing; `scripts[i]` is the script of `videos[i]`. Output files must be staged already;
    /// they are taken out of the deletion outbox in the same transaction.
    async fn seed_videos(
        &self,
        uid: i64,
        videos: Vec<Video>,
        scripts: Vec<Option<Script>>,
    ) -> StoreResult<()>;
}
