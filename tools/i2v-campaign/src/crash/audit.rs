//! Audits of the stored state against the record of answers: the delete invariants of
//! docs/design.md §4 plus the campaign's own (answered deletes stay deleted, answered creates are
//! kept, balances equal ledger sums, every final status has a delivered callback). They read the
//! store and the file storage directly, the way an operator's check would.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use i2v::blobs::Blobs;
use i2v::domain::Video;
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{Store, WebhookDelivery};

use super::fixtures::Received;
use super::load::{Account, Record};
use crate::tally::Tally;

/// What an audit sees: the record's answers (taken once, so every check agrees) and the store.
pub struct Audit<'a> {
    pub store: &'a dyn Store,
    pub accounts: &'a [Account],
    pub created: HashMap<String, i64>,
    pub deleted: HashMap<String, usize>,
    pub maybe_deleted: HashSet<String>,
    /// Ids an answered reset removed.
    pub reset_gone: HashSet<String>,
    pub violations: Vec<String>,
}

impl<'a> Audit<'a> {
    /// Takes the answers recorded so far; the violations seen in them are handed over to this
    /// audit (each is reported once).
    pub fn take(store: &'a dyn Store, accounts: &'a [Account], record: &Mutex<Record>) -> Self {
        let mut record = record.lock().unwrap();
        Audit {
            store,
            accounts,
            created: record.created.clone(),
            deleted: record.deleted.clone(),
            maybe_deleted: record.maybe_deleted.clone(),
            reset_gone: record.reset_gone.clone(),
            violations: std::mem::take(&mut record.violations),
        }
    }

    /// The checks that hold at any moment, e.g. right after a SIGKILL.
    pub async fn always(&self, round: &str, tally: &mut Tally) {
        tally.check(
            round,
            "answers keep docs/design.md §4 (each id once, own videos only, one success per id)",
            none(&self.violations),
        );
        tally.check(
            round,
            "credit balance equals the ledger sum",
            self.balances().await,
        );
        tally.check(
            round,
            "answered deletes and resets stay done",
            self.deletes_stay().await,
        );
        tally.check(
            round,
            "answered creates are kept",
            self.creates_kept().await,
        );
    }

    async fn balances(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for a in self.accounts {
            let account = self.store.account(a.uid).await.map_err(text)?;
            let balance = account
                .map(|x| x.credits)
                .ok_or(format!("account {} is gone", a.uid))?;
            let ledger = self.store.ledger_sum(a.uid).await.map_err(text)?;
            if balance != ledger {
                problems.push(format!(
                    "account {}: balance {balance}, ledger sum {ledger}",
                    a.uid
                ));
            }
        }
        none(&problems)
    }

    async fn deletes_stay(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let ids: Vec<&String> = self.deleted.keys().chain(&self.reset_gone).collect();
        for (id, video) in self.rows(ids.iter().map(|s| s.as_str())).await? {
            if video.is_some() {
                problems.push(format!(
                    "{id} was answered as deleted (or reset) and still has a row"
                ));
            }
        }
        // No row also means no stored file key; the files themselves are checked at the end,
        // once the deletion outbox has been drained.
        none(&problems)
    }

    async fn creates_kept(&self) -> Result<(), String> {
        let kept = self.created.keys().filter(|id| {
            !self.deleted.contains_key(*id)
                && !self.maybe_deleted.contains(*id)
                && !self.reset_gone.contains(*id)
        });
        let mut problems = Vec::new();
        for (id, video) in self.rows(kept.map(String::as_str)).await? {
            if video.is_none() {
                problems.push(format!(
                    "{id} was answered as created, never deleted, and is gone"
                ));
            }
        }
        none(&problems)
    }

    /// The stored row of each id (looked up as its owner), `None` when there is none.
    async fn rows<'i>(
        &self,
        ids: impl Iterator<Item = &'i str>,
    ) -> Result<Vec<(String, Option<Video>)>, String> {
        self.rows_owned(ids, |id| self.created.get(id).copied())
            .await
    }

    async fn rows_owned<'i>(
        &self,
        ids: impl Iterator<Item = &'i str>,
        owner: impl Fn(&str) -> Option<i64>,
    ) -> Result<Vec<(String, Option<Video>)>, String> {
        let mut by_owner: BTreeMap<i64, Vec<ObjectId>> = BTreeMap::new();
        for id in ids {
            let uid = owner(id).ok_or(format!("{id} has no known owner"))?;
            by_owner.entry(uid).or_default().push(parse(id)?);
        }
        let mut rows = Vec::new();
        for (uid, ids) in by_owner {
            for chunk in ids.chunks(100) {
                let found = self.store.videos_by_ids(uid, chunk).await.map_err(text)?;
                let mut found: HashMap<ObjectId, Video> =
                    found.into_iter().map(|v| (v.id, v)).collect();
                rows.extend(chunk.iter().map(|id| (id.to_string(), found.remove(id))));
            }
        }
        Ok(rows)
    }

    /// After the load stopped, the server drained everything and stopped gracefully.
    pub async fn quiescent(&self, blobs: &Blobs, received: &Received, tally: &mut Tally) {
        let round = "final";
        self.always(round, tally).await;
        // Every callback record, read once for the checks below.
        let deliveries = match self.store.webhook_deliveries(None, i64::MAX).await {
            Ok(all) => all.into_iter().map(|(d, _)| d).collect::<Vec<_>>(),
            Err(e) => return tally.check(round, "list every callback record", Err(text(e))),
        };
        let known = match self.known_videos(received, &deliveries).await {
            Ok(known) => known,
            Err(e) => return tally.check(round, "list every stored video", Err(e)),
        };
        tally.check(
            round,
            "no job left queued or processing",
            self.queue_empty().await,
        );
        tally.check(
            round,
            "the file-deletion outbox is drained",
            self.outbox_drained().await,
        );
        let keys = blobs.list_keys().await.map_err(text);
        tally.check(
            round,
            "files match rows (no row without its file, no file without its row)",
            match &keys {
                Ok(keys) => self.files_match_rows(&known, keys).await,
                Err(e) => Err(e.clone()),
            },
        );
        tally.check(
            round,
            "answered deletes and resets left no file and no callback record",
            match &keys {
                Ok(keys) => self.no_trace_of_deleted(keys, &deliveries),
                Err(e) => Err(e.clone()),
            },
        );
        tally.check(
            round,
            "every final status has a delivered callback",
            self.callbacks_delivered(&known, received, &deliveries),
        );
        tally.check(
            round,
            "every callback verified and decrypted",
            none(&received.bad),
        );
    }

    /// Every video still stored that the campaign can know of: answered creates, and those a
    /// callback or a delivery record names (creates whose answer was lost to a kill).
    async fn known_videos(
        &self,
        received: &Received,
        deliveries: &[WebhookDelivery],
    ) -> Result<Vec<Video>, String> {
        let mut owners: HashMap<String, i64> = self.created.clone();
        owners.extend(received.owner.iter().map(|(id, uid)| (id.clone(), *uid)));
        owners.extend(deliveries.iter().map(|d| (d.video_id.clone(), d.uid)));
        let ids: Vec<String> = owners.keys().cloned().collect();
        let rows = self
            .rows_owned(ids.iter().map(String::as_str), |id| owners.get(id).copied())
            .await?;
        Ok(rows.into_iter().filter_map(|(_, v)| v).collect())
    }

    async fn queue_empty(&self) -> Result<(), String> {
        match self.store.queue_depth().await.map_err(text)? {
            (0, 0) => Ok(()),
            (queued, processing) => Err(format!("{queued} queued, {processing} processing")),
        }
    }

    async fn outbox_drained(&self) -> Result<(), String> {
        let left = self
            .store
            .due_blob_deletions(i64::MAX / 2, 10)
            .await
            .map_err(text)?;
        none(&left.iter().map(|d| d.blob_key.clone()).collect::<Vec<_>>())
    }

    async fn files_match_rows(&self, known: &[Video], keys: &[String]) -> Result<(), String> {
        let mut problems = Vec::new();
        let stored: HashSet<&str> = keys.iter().map(String::as_str).collect();
        for video in known.iter().filter(|v| v.status == VideoStatus::Completed) {
            match &video.blob_key {
                Some(key) if stored.contains(key.as_str()) => {}
                Some(key) => problems.push(format!(
                    "{} is completed but its file {key} is missing",
                    video.id
                )),
                None => problems.push(format!("{} is completed without a file", video.id)),
            }
        }
        for key in keys {
            let owner = match video_of_key(key) {
                Some(id) => self.store.blob_key_of(parse(id)?).await.map_err(text)?,
                None => None,
            };
            // A completed video's file, or that file's poster.
            let poster = owner.as_deref().and_then(Blobs::poster_key);
            if owner.as_deref() != Some(key.as_str()) && poster.as_deref() != Some(key.as_str()) {
                problems.push(format!("file {key} belongs to no completed video"));
            }
        }
        none(&problems)
    }

    fn no_trace_of_deleted(
        &self,
        keys: &[String],
        deliveries: &[WebhookDelivery],
    ) -> Result<(), String> {
        let mut problems = Vec::new();
        for key in keys {
            if video_of_key(key).is_some_and(|id| self.gone(id)) {
                problems.push(format!("file {key} of a deleted video"));
            }
        }
        for d in deliveries {
            if self.gone(&d.video_id) {
                problems.push(format!(
                    "{} was deleted and still has callback record {}",
                    d.video_id, d.id
                ));
            }
        }
        none(&problems)
    }

    fn gone(&self, id: &str) -> bool {
        self.deleted.contains_key(id) || self.reset_gone.contains(id)
    }

    fn callbacks_delivered(
        &self,
        known: &[Video],
        received: &Received,
        deliveries: &[WebhookDelivery],
    ) -> Result<(), String> {
        let mut problems = Vec::new();
        for video in known {
            let status = video.status.code();
            if !matches!(video.status, VideoStatus::Completed | VideoStatus::Failed) {
                continue;
            }
            let id = video.id.to_string();
            let delivered = deliveries.iter().any(|d| {
                d.video_id == id && d.video_status.code() == status && d.state == "delivered"
            });
            if !delivered {
                problems.push(format!(
                    "{id} ended with status {status} and has no delivered callback record"
                ));
            }
            if !received
                .statuses
                .get(&id)
                .is_some_and(|s| s.contains(&status))
            {
                problems.push(format!(
                    "{id} ended with status {status} and the receiver never got it"
                ));
            }
        }
        none(&problems)
    }
}

/// Waits until nothing is left to do: no queued or processing video, no pending callback, no
/// file waiting for removal. `Err` with what is left when `limit` passes first.
pub async fn wait_quiescent(store: &dyn Store, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let left = left_to_do(store).await?;
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("still {} after {limit:?}", left.join(", ")));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn left_to_do(store: &dyn Store) -> Result<Vec<String>, String> {
    let mut left = Vec::new();
    let (queued, processing) = store.queue_depth().await.map_err(text)?;
    if queued + processing > 0 {
        left.push(format!("{queued} queued and {processing} processing"));
    }
    let deliveries = store
        .webhook_deliveries(None, i64::MAX)
        .await
        .map_err(text)?;
    let pending = deliveries
        .iter()
        .filter(|(d, _)| d.state == "pending")
        .count();
    if pending > 0 {
        left.push(format!("{pending} callbacks pending"));
    }
    let files = store
        .due_blob_deletions(i64::MAX / 2, 1000)
        .await
        .map_err(text)?;
    if !files.is_empty() {
        left.push(format!("{} files waiting for removal", files.len()));
    }
    Ok(left)
}

/// `videos/{id}/{attempt}.mp4` -> `{id}`.
fn video_of_key(key: &str) -> Option<&str> {
    key.strip_prefix("videos/")?.split('/').next()
}

fn parse(id: &str) -> Result<ObjectId, String> {
    ObjectId::parse(id).ok_or(format!("{id} is not an object id"))
}

fn none(problems: &[String]) -> Result<(), String> {
    match problems {
        [] => Ok(()),
        [one] => Err(one.clone()),
        [first, rest @ ..] => Err(format!("{first} (and {} more)", rest.len())),
    }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}
