//! Group commit for `delete_videos` and every charged create (`create_planned`, which
//! `create_videos` uses too). Every write transaction ends in one
//! durable commit (an fsync with `synchronous = FULL`), and the disk, not the CPU, limits how
//! many commits a second there can be; SQLite also has one write lock, and writers taking turns
//! on it (each statement a hand-off to sqlx's connection thread) cost more CPU than their work.
//! Requests that arrive while a group is being committed wait for it and then go together in the
//! next group: one transaction and one commit for many requests. A lone request goes at once (no
//! timer), so grouping adds no delay at low load. Deletes and creates are grouped apart (two
//! tasks), and their groups take turns on the write lock.
//!
//! Every DESIGN §4 guarantee holds per request: the group applies its requests one after another,
//! in the order they arrived, inside one transaction (`delete::group_in`, and
//! `create_planned_in` for creates), so each sees the ones before it (of concurrent deletes of
//! one id exactly one succeeds; creates of one account charge its balance in turn),
//! check-and-delete stays atomic, and no answer is sent before the commit that makes it true. A
//! create refused for credits writes nothing, so its refusal is its own and the group goes on.
//! When the group's transaction fails, nothing of it was applied, and each request is run again
//! in a transaction of its own, so one request's failure is never another's.
//!
//! Only SQLite groups: PostgreSQL already flushes the WAL of concurrent commits together, and
//! funnelling its deletes through one task made them slower, not faster (docs/benchmarks.md).

use std::future::Future;

use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{delete, write_tx, SqliteStore};
use crate::domain::emulation::{Lifecycle, Script};
use crate::domain::Video;
use crate::store::{DeleteOutcome, DeleteRequest, StoreError, StoreResult};

/// Most requests in one group (a delete has at most `limits.ids_per_call` ids).
const MAX_GROUP: usize = 64;

struct Job<G: Grouped> {
    work: G::Work,
    reply: oneshot::Sender<StoreResult<G::Outcome>>,
}

/// The way into a group task; the task ends when this is dropped.
pub(super) struct GroupCommit<G: Grouped> {
    jobs: mpsc::UnboundedSender<Job<G>>,
}

impl<G: Grouped> GroupCommit<G> {
    pub(super) fn start(grouped: G) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(grouped, queue));
        GroupCommit { jobs }
    }

    /// The request's outcome, committed together with whatever else is waiting.
    pub(super) async fn submit(&self, work: G::Work) -> StoreResult<G::Outcome> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { work, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the group commit task has stopped".into())
}

/// A kind of request that groups, carried out on the database or by a stand-in in the tests.
pub(super) trait Grouped: Send + Sync + 'static {
    type Work: Send + Sync + 'static;
    type Outcome: Send + 'static;
    /// Every request in one transaction, in order, with each one's own answer; an error means
    /// nothing was applied.
    fn together(
        &self,
        group: &[Self::Work],
    ) -> impl Future<Output = StoreResult<Vec<StoreResult<Self::Outcome>>>> + Send;
    fn alone(&self, work: &Self::Work) -> impl Future<Output = StoreResult<Self::Outcome>> + Send;
}

/// delbyids: a request and when it was made.
pub(super) struct Deletes(pub SqlitePool);

impl Grouped for Deletes {
    type Work = (DeleteRequest, i64);
    type Outcome = DeleteOutcome;

    async fn together(&self, group: &[Self::Work]) -> StoreResult<Vec<StoreResult<DeleteOutcome>>> {
        let mut tx = write_tx(&self.0).await?;
        let outcomes = delete::group_in(&mut tx, group).await?;
        tx.commit().await?;
        Ok(outcomes.into_iter().map(Ok).collect())
    }

    async fn alone(&self, (request, now): &Self::Work) -> StoreResult<DeleteOutcome> {
        delete::alone(&self.0, request, *now).await
    }
}

/// One charged create (`Emulation::create_planned`, which `Videos::create_videos` uses too).
pub(super) struct CreateRequest {
    pub uid: i64,
    pub videos: Vec<Video>,
    pub lifecycle: Lifecycle,
    pub now: i64,
}

pub(super) struct Creates(pub SqlitePool);

impl Grouped for Creates {
    type Work = CreateRequest;
    type Outcome = Vec<Option<Script>>;

    async fn together(
        &self,
        group: &[CreateRequest],
    ) -> StoreResult<Vec<StoreResult<Self::Outcome>>> {
        let mut tx = write_tx(&self.0).await?;
        let mut outcomes = Vec::with_capacity(group.len());
        for request in group {
            match create_in(&mut tx, request).await {
                Ok(scripts) => outcomes.push(Ok(scripts)),
                Err(
                    e @ (StoreError::InsufficientCredits { .. } | StoreError::NoSuchAccount(_)),
                ) => outcomes.push(Err(e)),
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn alone(&self, request: &CreateRequest) -> StoreResult<Self::Outcome> {
        let mut tx = write_tx(&self.0).await?;
        let scripts = create_in(&mut tx, request).await?;
        tx.commit().await?;
        Ok(scripts)
    }
}

async fn create_in(
    tx: &mut super::Tx,
    request: &CreateRequest,
) -> StoreResult<Vec<Option<Script>>> {
    let CreateRequest {
        uid,
        videos,
        lifecycle,
        now,
    } = request;
    SqliteStore::create_planned_in(tx, *uid, videos, lifecycle, *now).await
}

async fn run<G: Grouped>(grouped: G, mut queue: mpsc::UnboundedReceiver<Job<G>>) {
    let mut waiting = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut waiting, MAX_GROUP).await > 0 {
        let (group, replies): (Vec<_>, Vec<_>) =
            waiting.drain(..).map(|j| (j.work, j.reply)).unzip();
        let outcomes = answer(&grouped, &group).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that went away still had its request done; nobody is left to tell.
            let _ = reply.send(outcome);
        }
    }
}

/// One outcome per request, each as if the requests had run alone one after another: in one
/// transaction when it commits, else one transaction each, in order (run concurrently, a later
/// request could take an id that an earlier one should report).
async fn answer<G: Grouped>(grouped: &G, group: &[G::Work]) -> Vec<StoreResult<G::Outcome>> {
    if group.len() > 1 {
        match grouped.together(group).await {
            Ok(outcomes) => return outcomes,
            Err(e) => tracing::warn!(error = %e, "grouped write failed; retrying one by one"),
        }
    }
    let mut outcomes = Vec::with_capacity(group.len());
    for work in group {
        outcomes.push(grouped.alone(work).await);
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::domain::ObjectId;

    /// Deletes what it is asked for from a set of ids, like the database would; its group
    /// transaction fails when told to.
    struct Fake {
        left: Mutex<Vec<ObjectId>>,
        group_fails: bool,
        calls: Arc<Mutex<Vec<&'static str>>>,
    }

    impl Fake {
        fn take(&self, (request, _): &(DeleteRequest, i64)) -> DeleteOutcome {
            let mut left = self.left.lock().unwrap();
            let deleted: Vec<ObjectId> = request
                .ids
                .iter()
                .copied()
                .filter(|id| left.contains(id))
                .collect();
            left.retain(|id| !deleted.contains(id));
            DeleteOutcome {
                deleted,
                ..DeleteOutcome::default()
            }
        }
    }

    impl Grouped for Fake {
        type Work = (DeleteRequest, i64);
        type Outcome = DeleteOutcome;

        async fn together(
            &self,
            group: &[(DeleteRequest, i64)],
        ) -> StoreResult<Vec<StoreResult<DeleteOutcome>>> {
            self.calls.lock().unwrap().push("together");
            if self.group_fails {
                return Err(StoreError::Backend("disk full".into()));
            }
            Ok(group.iter().map(|w| Ok(self.take(w))).collect())
        }

        async fn alone(&self, work: &(DeleteRequest, i64)) -> StoreResult<DeleteOutcome> {
            self.calls.lock().unwrap().push("alone");
            Ok(self.take(work))
        }
    }

    fn fake(ids: &[ObjectId], group_fails: bool) -> Fake {
        Fake {
            left: Mutex::new(ids.to_vec()),
            group_fails,
            calls: Arc::default(),
        }
    }

    /// Three requests on x, y, z: the second finds y gone, the third finds x gone.
    fn three_requests() -> Vec<(DeleteRequest, i64)> {
        let [x, y, z] = [1, 2, 3].map(ObjectId::generate);
        let request = |ids: Vec<ObjectId>| (DeleteRequest { uid: 1, ids }, 0);
        vec![request(vec![x, y]), request(vec![y, z]), request(vec![x])]
    }

    fn all_ids(work: &[(DeleteRequest, i64)]) -> Vec<ObjectId> {
        let mut ids: Vec<ObjectId> = work.iter().flat_map(|(r, _)| r.ids.clone()).collect();
        ids.dedup();
        ids
    }

    async fn run_group(group_fails: bool) -> (Vec<Vec<ObjectId>>, Vec<&'static str>) {
        let work = three_requests();
        let fake = fake(&all_ids(&work), group_fails);
        let outcomes = answer(&fake, &work).await;
        let deleted = outcomes.into_iter().map(|o| o.unwrap().deleted).collect();
        let calls = fake.calls.lock().unwrap().clone();
        (deleted, calls)
    }

    #[tokio::test]
    async fn a_group_answers_each_request_as_if_it_ran_alone_in_order() {
        let (deleted, calls) = run_group(false).await;
        assert_eq!(calls, ["together"]);
        assert_eq!(deleted[1].len(), 1, "y went with the request before");
        assert!(deleted[2].is_empty(), "x went with the first request");
    }

    #[tokio::test]
    async fn a_failed_group_is_retried_one_by_one_in_order() {
        let (deleted, calls) = run_group(true).await;
        assert_eq!(calls, ["together", "alone", "alone", "alone"]);
        assert_eq!(deleted[0].len(), 2);
        assert_eq!(deleted[1].len(), 1);
        assert!(deleted[2].is_empty());
    }

    #[tokio::test]
    async fn a_lone_request_commits_alone() {
        let work = vec![three_requests().remove(0)];
        let fake = fake(&all_ids(&work), false);
        let outcomes = answer(&fake, &work).await;
        assert_eq!(outcomes[0].as_ref().unwrap().deleted.len(), 2);
        assert_eq!(*fake.calls.lock().unwrap(), ["alone"]);
    }

    #[tokio::test]
    async fn requests_waiting_together_go_as_one_group_and_each_gets_its_answer() {
        let work = three_requests();
        let fake = fake(&all_ids(&work), false);
        let calls = fake.calls.clone();
        let (jobs, queue) = mpsc::unbounded_channel();
        let mut answers = Vec::new();
        for work in work {
            let (reply, answer) = oneshot::channel();
            jobs.send(Job { work, reply }).unwrap();
            answers.push(answer);
        }
        drop(jobs);
        run(fake, queue).await;
        let mut deleted = Vec::new();
        for answer in answers {
            deleted.push(answer.await.unwrap().unwrap().deleted.len());
        }
        assert_eq!(deleted, [2, 1, 0]);
        assert_eq!(*calls.lock().unwrap(), ["together"]);
    }

    /// Creates of one group charge in turn: one refused for credits writes nothing and is
    /// answered alone, the others commit together, and balances match the ledger.
    #[tokio::test]
    async fn a_create_refused_for_credits_leaves_the_rest_of_its_group() {
        use crate::store::sqlite::test_store::{queued_videos, store_with_videos};
        use crate::store::{Accounts, Videos};

        let dir = tempfile::tempdir().unwrap();
        let (store, uid, _) = store_with_videos(dir.path()).await;
        let at = 1_754_006_500_000;
        let balance = || async { store.account(uid).await.unwrap().unwrap().credits };
        let before = balance().await;
        let one = queued_videos(uid, 1, at);
        let price = one[0].deduction_credit;
        assert!(price > 0);
        let affordable = before / price;
        let request = |n: i64| CreateRequest {
            uid,
            videos: queued_videos(uid, n, at),
            lifecycle: Lifecycle::Render,
            now: at,
        };
        // The first takes all but one video's worth; the second wants two; the third fits.
        let group = [request(affordable - 1), request(2), request(1)];
        let outcomes = Creates(store.pool.clone()).together(&group).await.unwrap();
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
        assert!(matches!(
            outcomes[1],
            Err(StoreError::InsufficientCredits { .. })
        ));
        assert_eq!(balance().await, before - price * affordable);
        assert_eq!(store.ledger_sum(uid).await.unwrap(), balance().await);
        let refused: Vec<_> = group[1].videos.iter().map(|v| v.id).collect();
        assert!(store.videos_by_ids(uid, &refused).await.unwrap().is_empty());
        let made: Vec<_> = group[2].videos.iter().map(|v| v.id).collect();
        assert_eq!(store.videos_by_ids(uid, &made).await.unwrap().len(), 1);
    }
}
