//! Group commit for `delete_videos`. Every write transaction ends in one durable commit (an
//! fsync with `synchronous = FULL`), and the disk, not the CPU, limits how many commits a second
//! there can be. Requests that arrive while a group is being committed wait for it and then go
//! together in the next group: one commit for many requests. A lone request goes at once (no
//! timer), so grouping adds no delay at low load.
//!
//! Every DESIGN §4 guarantee holds per request: the group applies its requests one after another,
//! in the order they arrived, inside one transaction (`delete::group_in`), so each sees the ones
//! before it (of
//! concurrent deletes of one id exactly one succeeds), check-and-delete stays atomic, and no
//! answer is sent before the commit that makes it true. When the group's transaction fails,
//! nothing of it was applied, and each request is run again in a transaction of its own, so one
//! request's failure is never another's.
//!
//! Only SQLite groups: PostgreSQL already flushes the WAL of concurrent commits together, and
//! funnelling its deletes through one task made them slower, not faster (docs/benchmarks.md).

use std::future::Future;

use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{delete, write_tx};
use crate::store::{DeleteOutcome, DeleteRequest, StoreError, StoreResult};

/// Most requests in one group (each has at most `limits.ids_per_call` ids).
const MAX_GROUP: usize = 64;

/// One request and when it was made.
type Work = (DeleteRequest, i64);

struct Job {
    work: Work,
    reply: oneshot::Sender<StoreResult<DeleteOutcome>>,
}

/// The way into the group task; the task ends when this is dropped.
pub(super) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupCommit {
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(Sqlite(pool), queue));
        GroupCommit { jobs }
    }

    /// The request's outcome, committed together with whatever else is waiting.
    pub(super) async fn delete(
        &self,
        request: DeleteRequest,
        now: i64,
    ) -> StoreResult<DeleteOutcome> {
        let (reply, answer) = oneshot::channel();
        let work = (request, now);
        self.jobs.send(Job { work, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the delete group task has stopped".into())
}

/// How a group is carried out: on the database, or by a stand-in in the tests.
trait Deleter: Send + Sync + 'static {
    /// Every request in one transaction, in order; an error means nothing was applied.
    fn together(
        &self,
        group: &[Work],
    ) -> impl Future<Output = StoreResult<Vec<DeleteOutcome>>> + Send;
    fn alone(&self, work: &Work) -> impl Future<Output = StoreResult<DeleteOutcome>> + Send;
}

struct Sqlite(SqlitePool);

impl Deleter for Sqlite {
    async fn together(&self, group: &[Work]) -> StoreResult<Vec<DeleteOutcome>> {
        let mut tx = write_tx(&self.0).await?;
        let outcomes = delete::group_in(&mut tx, group).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn alone(&self, (request, now): &Work) -> StoreResult<DeleteOutcome> {
        delete::alone(&self.0, request, *now).await
    }
}

async fn run(deleter: impl Deleter, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut waiting = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut waiting, MAX_GROUP).await > 0 {
        let (group, replies): (Vec<_>, Vec<_>) =
            waiting.drain(..).map(|j| (j.work, j.reply)).unzip();
        let outcomes = answer(&deleter, &group).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that went away still had its delete done; nobody is left to tell.
            let _ = reply.send(outcome);
        }
    }
}

/// One outcome per request, each as if the requests had run alone one after another: in one
/// transaction when it commits, else one transaction each, in order (run concurrently, a later
/// request could take an id that an earlier one should report).
async fn answer(deleter: &impl Deleter, group: &[Work]) -> Vec<StoreResult<DeleteOutcome>> {
    if group.len() > 1 {
        match deleter.together(group).await {
            Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
            Err(e) => tracing::warn!(error = %e, "grouped delete failed; retrying one by one"),
        }
    }
    let mut outcomes = Vec::with_capacity(group.len());
    for work in group {
        outcomes.push(deleter.alone(work).await);
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
        fn take(&self, (request, _): &Work) -> DeleteOutcome {
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

    impl Deleter for Fake {
        async fn together(&self, group: &[Work]) -> StoreResult<Vec<DeleteOutcome>> {
            self.calls.lock().unwrap().push("together");
            if self.group_fails {
                return Err(StoreError::Backend("disk full".into()));
            }
            Ok(group.iter().map(|w| self.take(w)).collect())
        }

        async fn alone(&self, work: &Work) -> StoreResult<DeleteOutcome> {
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
    fn three_requests() -> Vec<Work> {
        let [x, y, z] = [1, 2, 3].map(ObjectId::generate);
        let request = |ids: Vec<ObjectId>| (DeleteRequest { uid: 1, ids }, 0);
        vec![request(vec![x, y]), request(vec![y, z]), request(vec![x])]
    }

    fn all_ids(work: &[Work]) -> Vec<ObjectId> {
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
}
