//! A `Store` that passes every call to the real one and logs the calls the race checks need:
//! claims, the calls that end a lease, reaps and deletes, each stamped with a logical clock
//! taken just before and just after the call. Whatever a call did took effect somewhere between
//! its two stamps, so `a.end < b.start` proves that `a` happened before `b`; the history checks
//! (`history.rs`) only ever conclude from such proofs, never from overlapping calls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use i2v::domain::emulation::{Lifecycle, Outcome, Script};
use i2v::domain::{ObjectId, Video, VideoStatus};
use i2v::store::*;

/// One logged store call.
#[derive(Clone, Debug)]
pub struct Event {
    pub start: u64,
    pub end: u64,
    pub op: Op,
}

#[derive(Clone, Debug)]
pub enum Op {
    /// `claim_next` handed `id` to `owner` until `lease_until`.
    Claim {
        id: ObjectId,
        owner: String,
        lease_until: i64,
    },
    /// `complete`, `fail`, `retry_later` or `release` by the lease owner; `ok` is its answer
    /// (false also when it failed), the lease may have ended either way.
    Finish {
        id: ObjectId,
        owner: String,
        kind: FinishKind,
        ok: bool,
    },
    /// `reap_expired` at `now`: any lease that ended before `now` may have been taken back.
    Reap { now: i64 },
    /// `create_planned` (every create goes through it) stored `ids` for `uid`.
    Create { uid: i64, ids: Vec<ObjectId> },
    /// `take_step` on an emulated video; `ok` is its answer.
    Step {
        id: ObjectId,
        kind: StepKind,
        ok: bool,
    },
    /// `set_script` took an unfinished video over (from a worker, if one had it); `processing`:
    /// it stays processing, held by the emulator.
    TakeOver { id: ObjectId, processing: bool },
    /// `reset_account` of `uid` committed: every video it had is gone.
    Reset { uid: i64 },
    /// `videos_by_ids` (every poll reads through it) answered with `found`, the caller's videos
    /// it still saw.
    Read { found: Vec<ObjectId> },
    /// One delete request's committed outcome.
    Delete {
        uid: i64,
        ids: Vec<ObjectId>,
        deleted: Vec<ObjectId>,
        processing: Vec<ObjectId>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishKind {
    Complete,
    Fail,
    Retry,
    Release,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Start,
    Complete,
    Fail,
}

pub struct Recorder {
    inner: Arc<dyn Store>,
    clock: AtomicU64,
    log: Mutex<Vec<Event>>,
}

impl Recorder {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Recorder {
            inner,
            clock: AtomicU64::new(1),
            log: Mutex::new(Vec::new()),
        }
    }

    /// A logical time: later than everything logged so far.
    pub fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    /// Everything logged since the last call.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn push(&self, start: u64, op: Op) {
        let end = self.tick();
        self.log.lock().unwrap().push(Event { start, end, op });
    }

    fn finish(&self, start: u64, id: ObjectId, owner: &str, kind: FinishKind, ok: bool) {
        let owner = owner.to_owned();
        self.push(
            start,
            Op::Finish {
                id,
                owner,
                kind,
                ok,
            },
        );
    }

    fn deleted(&self, start: u64, uid: i64, ids: &[ObjectId], outcome: &DeleteOutcome) {
        let op = Op::Delete {
            uid,
            ids: ids.to_vec(),
            deleted: outcome.deleted.clone(),
            processing: outcome.processing.clone(),
        };
        self.push(start, op);
    }
}

#[async_trait]
impl Store for Recorder {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

#[async_trait]
impl Accounts for Recorder {
    async fn create_account(&self, new: NewAccount) -> StoreResult<Account> {
        self.inner.create_account(new).await
    }

    async fn account(&self, uid: i64) -> StoreResult<Option<Account>> {
        self.inner.account(uid).await
    }

    async fn accounts_after(&self, after: i64, limit: i64) -> StoreResult<Vec<Account>> {
        self.inner.accounts_after(after, limit).await
    }

    async fn auth_by_key_hash(&self, secret_hash: &str) -> StoreResult<Option<AuthRecord>> {
        self.inner.auth_by_key_hash(secret_hash).await
    }

    async fn auth_by_client_id(&self, client_id: &str) -> StoreResult<Option<AuthRecord>> {
        self.inner.auth_by_client_id(client_id).await
    }

    async fn auth_by_uid(&self, uid: i64) -> StoreResult<Option<AuthRecord>> {
        self.inner.auth_by_uid(uid).await
    }

    async fn set_banned(&self, uid: i64, banned: bool) -> StoreResult<bool> {
        self.inner.set_banned(uid, banned).await
    }

    async fn adjust_credits(
        &self,
        uid: i64,
        amount: i64,
        reason: &str,
        now: i64,
    ) -> StoreResult<i64> {
        self.inner.adjust_credits(uid, amount, reason, now).await
    }

    async fn rotate_secret(
        &self,
        uid: i64,
        secret_hash: &str,
        sealed_secret: &str,
    ) -> StoreResult<bool> {
        self.inner
            .rotate_secret(uid, secret_hash, sealed_secret)
            .await
    }

    async fn ledger_sum(&self, uid: i64) -> StoreResult<i64> {
        self.inner.ledger_sum(uid).await
    }

    async fn ledger(&self, uid: i64, limit: i64) -> StoreResult<Vec<LedgerEntry>> {
        self.inner.ledger(uid, limit).await
    }
}

#[async_trait]
impl Videos for Recorder {
    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()> {
        self.inner.create_videos(uid, videos, now).await
    }

    async fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>> {
        let start = self.tick();
        let videos = self.inner.videos_by_ids(uid, ids).await?;
        let found = videos.iter().map(|v| v.id).collect();
        self.push(start, Op::Read { found });
        Ok(videos)
    }

    async fn videos_for_poll(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<PolledVideos> {
        let start = self.tick();
        let polled = self.inner.videos_for_poll(uid, ids).await?;
        let found = polled.videos.iter().map(|v| v.id).collect();
        self.push(start, Op::Read { found });
        Ok(polled)
    }

    async fn list_videos(&self, uid: i64, filter: &VideoFilter) -> StoreResult<VideoPage> {
        // Listing is not part of the race model: the web console's view, not an Akool route.
        self.inner.list_videos(uid, filter).await
    }

    async fn delete_videos(
        &self,
        uid: i64,
        ids: &[ObjectId],
        now: i64,
    ) -> StoreResult<DeleteOutcome> {
        let start = self.tick();
        let outcome = self.inner.delete_videos(uid, ids, now).await?;
        self.deleted(start, uid, ids, &outcome);
        Ok(outcome)
    }

    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>> {
        self.inner.blob_key_of(id).await
    }

    async fn force_status(
        &self,
        id: ObjectId,
        to: ForcedStatus,
        now: i64,
    ) -> StoreResult<Option<Video>> {
        self.inner.force_status(id, to, now).await
    }

    async fn expire_outputs(
        &self,
        completed_before: i64,
        now: i64,
        limit: i64,
    ) -> StoreResult<u64> {
        self.inner
            .expire_outputs(completed_before, now, limit)
            .await
    }
}

#[async_trait]
impl RenderQueue for Recorder {
    async fn queue_depth(&self) -> StoreResult<(i64, i64)> {
        self.inner.queue_depth().await
    }

    async fn claim_next_within(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        max_in_flight_per_account: i64,
    ) -> StoreResult<Option<Video>> {
        let start = self.tick();
        let claimed = self
            .inner
            .claim_next_within(owner, now, lease_until, max_in_flight_per_account)
            .await?;
        if let Some(v) = &claimed {
            let owner = owner.to_owned();
            let id = v.id;
            self.push(
                start,
                Op::Claim {
                    id,
                    owner,
                    lease_until,
                },
            );
        }
        Ok(claimed)
    }

    async fn heartbeat(&self, id: ObjectId, owner: &str, lease_until: i64) -> StoreResult<bool> {
        self.inner.heartbeat(id, owner, lease_until).await
    }

    async fn complete(&self, done: Completion, now: i64) -> StoreResult<bool> {
        let start = self.tick();
        let (id, owner) = (done.id, done.owner.clone());
        let ok = self.inner.complete(done, now).await;
        let done_ok = matches!(ok, Ok(true));
        self.finish(start, id, &owner, FinishKind::Complete, done_ok);
        ok
    }

    async fn fail(&self, id: ObjectId, owner: &str, reason: &str, now: i64) -> StoreResult<bool> {
        let start = self.tick();
        let ok = self.inner.fail(id, owner, reason, now).await;
        self.finish(start, id, owner, FinishKind::Fail, matches!(ok, Ok(true)));
        ok
    }

    async fn retry_later(
        &self,
        id: ObjectId,
        owner: &str,
        run_after: i64,
        reason: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let start = self.tick();
        let ok = self
            .inner
            .retry_later(id, owner, run_after, reason, max_attempts, now)
            .await;
        self.finish(start, id, owner, FinishKind::Retry, matches!(ok, Ok(true)));
        ok
    }

    async fn release(&self, id: ObjectId, owner: &str, now: i64) -> StoreResult<bool> {
        let start = self.tick();
        let ok = self.inner.release(id, owner, now).await;
        self.finish(
            start,
            id,
            owner,
            FinishKind::Release,
            matches!(ok, Ok(true)),
        );
        ok
    }

    async fn reap_expired(&self, now: i64, max_attempts: i64) -> StoreResult<u64> {
        let start = self.tick();
        let reaped = self.inner.reap_expired(now, max_attempts).await;
        // Logged even when it failed: it may have committed before the error reached us.
        self.push(start, Op::Reap { now });
        reaped
    }
}

#[async_trait]
impl WebhookOutbox for Recorder {
    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.inner.claim_webhooks(now, lease_until, limit).await
    }

    async fn webhook_credentials(&self, uid: i64) -> StoreResult<Option<(String, String)>> {
        self.inner.webhook_credentials(uid).await
    }

    async fn finish_webhook_attempt(
        &self,
        id: i64,
        attempt: WebhookAttempt,
        outcome: WebhookOutcome,
    ) -> StoreResult<()> {
        self.inner
            .finish_webhook_attempt(id, attempt, outcome)
            .await
    }

    async fn webhook_deliveries(
        &self,
        video_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(WebhookDelivery, Vec<WebhookAttempt>)>> {
        self.inner.webhook_deliveries(video_id, limit).await
    }

    async fn redeliver_webhook(&self, id: i64, now: i64) -> StoreResult<bool> {
        self.inner.redeliver_webhook(id, now).await
    }

    async fn log_webhook_attempt(&self, id: i64, attempt: WebhookAttempt) -> StoreResult<()> {
        self.inner.log_webhook_attempt(id, attempt).await
    }

    async fn fault_webhook(
        &self,
        id: i64,
        fault: &str,
        step: FaultStep,
        now: i64,
    ) -> StoreResult<()> {
        self.inner.fault_webhook(id, fault, step, now).await
    }
}

// Fault rules and the journal are not what the race checks: passed through unrecorded.
#[async_trait]
impl Faults for Recorder {
    async fn faults(&self, uid: i64, kind: FaultKind) -> StoreResult<Option<Option<String>>> {
        self.inner.faults(uid, kind).await
    }

    async fn set_faults(&self, uid: i64, kind: FaultKind, set: Option<&str>) -> StoreResult<bool> {
        self.inner.set_faults(uid, kind, set).await
    }

    async fn take_fault(
        &self,
        uid: i64,
        kind: FaultKind,
        subject: &str,
    ) -> StoreResult<Option<serde_json::Value>> {
        self.inner.take_fault(uid, kind, subject).await
    }
}

#[async_trait]
impl RequestJournal for Recorder {
    async fn append_requests(
        &self,
        entries: &[JournalEntry],
        max_per_account: i64,
    ) -> StoreResult<()> {
        self.inner.append_requests(entries, max_per_account).await
    }

    async fn requests(&self, filter: &JournalFilter) -> StoreResult<Vec<JournalEntry>> {
        self.inner.requests(filter).await
    }

    async fn clear_requests(&self, uid: Option<i64>) -> StoreResult<u64> {
        self.inner.clear_requests(uid).await
    }
}

#[async_trait]
impl FileOutbox for Recorder {
    async fn stage_blob(&self, blob_key: &str, not_before: i64) -> StoreResult<()> {
        self.inner.stage_blob(blob_key, not_before).await
    }

    async fn stage_blobs(&self, blob_keys: &[String], not_before: i64) -> StoreResult<()> {
        self.inner.stage_blobs(blob_keys, not_before).await
    }

    async fn unstage_blob(&self, blob_key: &str) -> StoreResult<()> {
        self.inner.unstage_blob(blob_key).await
    }

    async fn due_blob_deletions(&self, now: i64, limit: i64) -> StoreResult<Vec<BlobDeletion>> {
        self.inner.due_blob_deletions(now, limit).await
    }

    async fn finish_blob_deletion(&self, id: i64) -> StoreResult<()> {
        self.inner.finish_blob_deletion(id).await
    }

    async fn retry_blob_deletion(
        &self,
        id: i64,
        error: &str,
        next_attempt: i64,
    ) -> StoreResult<()> {
        self.inner
            .retry_blob_deletion(id, error, next_attempt)
            .await
    }
}

/// The emulator's calls: creates, steps, take-overs and resets are logged (the history checks
/// hold them to the same fences as workers and deletes), the rest passes through.
#[async_trait]
impl Emulation for Recorder {
    async fn emulation(&self, uid: i64) -> StoreResult<Option<EmulationState>> {
        self.inner.emulation(uid).await
    }

    async fn set_lifecycle(&self, uid: i64, lifecycle: Option<&Lifecycle>) -> StoreResult<bool> {
        self.inner.set_lifecycle(uid, lifecycle).await
    }

    async fn advance_clock(&self, uid: Option<i64>, by_ms: i64) -> StoreResult<u64> {
        self.inner.advance_clock(uid, by_ms).await
    }

    async fn push_outcomes(
        &self,
        uid: i64,
        outcomes: &[Outcome],
    ) -> StoreResult<Option<Vec<Outcome>>> {
        self.inner.push_outcomes(uid, outcomes).await
    }

    async fn outcomes(&self, uid: i64) -> StoreResult<Option<Vec<Outcome>>> {
        self.inner.outcomes(uid).await
    }

    async fn clear_outcomes(&self, uid: i64) -> StoreResult<bool> {
        self.inner.clear_outcomes(uid).await
    }

    async fn create_planned(
        &self,
        uid: i64,
        videos: Vec<Video>,
        lifecycle: &Lifecycle,
        now: i64,
    ) -> StoreResult<Vec<Option<Script>>> {
        let start = self.tick();
        let ids = videos.iter().map(|v| v.id).collect();
        let scripts = self
            .inner
            .create_planned(uid, videos, lifecycle, now)
            .await?;
        self.push(start, Op::Create { uid, ids });
        Ok(scripts)
    }

    async fn scripted(&self, id: ObjectId) -> StoreResult<Option<ScriptedVideo>> {
        self.inner.scripted(id).await
    }

    async fn take_step(&self, id: ObjectId, step: ScriptStep, now: i64) -> StoreResult<bool> {
        let start = self.tick();
        let kind = match step {
            ScriptStep::Start { .. } => StepKind::Start,
            ScriptStep::Complete { .. } => StepKind::Complete,
            ScriptStep::Fail { .. } => StepKind::Fail,
        };
        let ok = self.inner.take_step(id, step, now).await;
        let done = matches!(ok, Ok(true));
        self.push(start, Op::Step { id, kind, ok: done });
        ok
    }

    async fn set_script(&self, id: ObjectId, script: &Script, now: i64) -> StoreResult<TakeOver> {
        let start = self.tick();
        let taken = self.inner.set_script(id, script, now).await?;
        if let TakeOver::Taken(video) = &taken {
            let processing = video.status == VideoStatus::Processing;
            self.push(start, Op::TakeOver { id, processing });
        }
        Ok(taken)
    }

    async fn count_polls(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<ObjectId>> {
        self.inner.count_polls(uid, ids).await
    }

    async fn due_scripts(
        &self,
        server_now: i64,
        uid: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ObjectId>> {
        self.inner.due_scripts(server_now, uid, limit).await
    }

    async fn advanced_clocks(&self) -> StoreResult<Vec<(i64, i64)>> {
        self.inner.advanced_clocks().await
    }

    async fn expire_outputs_of(
        &self,
        uid: i64,
        completed_before: i64,
        now: i64,
        limit: i64,
    ) -> StoreResult<u64> {
        self.inner
            .expire_outputs_of(uid, completed_before, now, limit)
            .await
    }

    async fn reset_account(&self, uid: i64, now: i64) -> StoreResult<Option<ResetReport>> {
        let start = self.tick();
        let report = self.inner.reset_account(uid, now).await?;
        if report.is_some() {
            self.push(start, Op::Reset { uid });
        }
        Ok(report)
    }

    async fn account_uids(&self) -> StoreResult<Vec<i64>> {
        self.inner.account_uids().await
    }

    async fn seed_videos(
        &self,
        uid: i64,
        videos: Vec<Video>,
        scripts: Vec<Option<Script>>,
    ) -> StoreResult<()> {
        self.inner.seed_videos(uid, videos, scripts).await
    }
}
