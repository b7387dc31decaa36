//! Group commit for delbyids. Every write transaction ends in one durable commit (an fsync with
//! SQLite's `synchronous = FULL`), and the disk, not the CPU, limits how many commits a second
//! there can be. Requests that arrive while a group is being committed wait for it and then go
//! together in the next group, through `Store::delete_videos_grouped`: one commit for many
//! requests. A lone request goes at once (no timer), so grouping adds no delay at low load.
//!
//! Every DESIGN §4 guarantee holds per request: the group applies its requests one after another
//! inside one transaction, so each sees the ones before it (of concurrent deletes of one id
//! exactly one succeeds), check-and-delete stays atomic, and no answer is sent before the commit
//! that makes it true.
//!
//! A store that does not group (`Store::groups_deletes` is false) is called directly,
//! concurrently. PostgreSQL is one: it already flushes the WAL of concurrent commits together,
//! and funnelling its deletes through one group task made them slower, not faster (measured in
//! docs/benchmarks.md).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::clock::now_ms;
use crate::domain::ObjectId;
use crate::store::{DeleteOutcome, DeleteRequest, Store, StoreError, StoreResult};

/// Most requests in one group (each has at most `limits.ids_per_call` ids).
const MAX_GROUP: usize = 64;

struct Job {
    request: DeleteRequest,
    reply: oneshot::Sender<StoreResult<DeleteOutcome>>,
}

/// The handle requests go through; clones share one group task.
#[derive(Clone)]
pub struct DeleteGroups(Route);

#[derive(Clone)]
enum Route {
    Grouped(mpsc::UnboundedSender<Job>),
    Direct(Arc<dyn Store>),
}

impl DeleteGroups {
    /// Starts the task that runs the groups (when the store groups deletes); it ends when the
    /// last handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        if !store.groups_deletes() {
            return DeleteGroups(Route::Direct(store));
        }
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(store, queue));
        DeleteGroups(Route::Grouped(jobs))
    }

    /// `Store::delete_videos` for one request, committed together with whatever else is waiting.
    pub async fn delete(&self, uid: i64, ids: Vec<ObjectId>) -> StoreResult<DeleteOutcome> {
        let jobs = match &self.0 {
            Route::Direct(store) => return store.delete_videos(uid, &ids, now_ms()).await,
            Route::Grouped(jobs) => jobs,
        };
        let (reply, answer) = oneshot::channel();
        let request = DeleteRequest { uid, ids };
        jobs.send(Job { request, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the delete group task has stopped".into())
}

async fn run(store: Arc<dyn Store>, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut waiting = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut waiting, MAX_GROUP).await > 0 {
        let (requests, replies): (Vec<_>, Vec<_>) =
            waiting.drain(..).map(|j| (j.request, j.reply)).unzip();
        let outcomes = store.delete_videos_grouped(&requests, now_ms()).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that went away still had its delete done; nobody is left to tell.
            let _ = reply.send(outcome);
        }
    }
}
