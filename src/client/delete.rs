//! `i2v client delete`: ids in batches of at most 100 through delbyids, `--jobs` batches in
//! flight, each retried on network errors, HTTP 429/5xx and code 2001 (never on an answer).
//!
//! An id's outcome is what an answer said: `successIds` is deleted; "video resource not found"
//! is not found, except when an earlier attempt of the same batch (or an earlier run, per
//! `--state`) may have been applied without its answer arriving: then the video is gone and
//! most likely by our hand, so it counts as deleted ("confirmed on retry"); "processing" is
//! still processing (with `--wait-processing`, polled until it finishes, then deleted again);
//! anything else, or a batch that found no answer after every retry, is failed.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::args::DeleteArgs;
use super::http::{Api, CallError, DELETE, RESULTS};
use super::progress::Output;
use super::state::{Loaded, Outcome, State};
use super::{ClientError, EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK};

/// resultsByIds takes at most 100 ids a call.
const POLL_BATCH: usize = 100;

#[derive(Default, Debug)]
struct Counts {
    deleted: u64,
    on_retry: u64,
    not_found: u64,
    /// Of `deleted` and `not_found`, known from an earlier run's state.
    earlier: u64,
    processing: u64,
    failed: u64,
    waiting: u64,
}

struct Job<'a> {
    api: &'a Api,
    out: &'a Output,
    state: &'a State,
    in_doubt: HashSet<String>,
    counts: Mutex<Counts>,
    batch_size: usize,
    jobs: usize,
}

/// One id's outcome from an answer.
enum Got {
    Deleted { on_retry: bool },
    NotFound,
    Processing(String),
    Failed(String),
}

pub async fn run(
    api: &Api,
    out: &Output,
    args: &DeleteArgs,
    ids: Vec<String>,
) -> Result<u8, ClientError> {
    let (state, loaded) = match &args.state {
        Some(path) => State::open(path)?,
        None => (State::none(), Loaded::default()),
    };
    if loaded.torn {
        out.note("--state: its last line was cut short by an interrupted write; ignored");
    }
    let mut counts = Counts::default();
    let mut pending = Vec::new();
    for id in &ids {
        match loaded.outcomes.get(id) {
            Some(outcome) if outcome.is_final() => {
                counts.earlier += 1;
                if *outcome == Outcome::Deleted {
                    counts.deleted += 1;
                } else {
                    counts.not_found += 1;
                }
                out.record(&json!({"id": id, "outcome": outcome, "earlier": true}));
            }
            _ => pending.push(id.clone()),
        }
    }
    let in_doubt = pending
        .iter()
        .filter(|id| loaded.in_doubt.contains(*id))
        .cloned()
        .collect();
    let job = Job {
        api,
        out,
        state: &state,
        in_doubt,
        batch_size: usize::from(args.batch_size),
        jobs: usize::from(args.jobs),
        counts: Mutex::new(counts),
    };
    let started = Instant::now();
    let earlier = job.counts().earlier;
    out.start("delete", ids.len() as u64, earlier);
    let (result, interrupted) = tokio::select! {
        result = job.all(pending, args) => (result, false),
        _ = tokio::signal::ctrl_c() => (Ok(()), true),
    };
    out.finish(&job.tallies());
    job.summary(ids.len(), started.elapsed(), interrupted);
    result?;
    let c = job.counts();
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if c.processing == 0 && c.failed == 0 {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    })
}

impl Job<'_> {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tallies(&self) -> String {
        let c = self.counts();
        let mut text = format!("deleted {}", c.deleted);
        if c.on_retry > 0 {
            text.push_str(&format!(" ({} on retry)", c.on_retry));
        }
        text.push_str(&format!(
            ", not found {}, processing {}, failed {}",
            c.not_found,
            c.processing + c.waiting,
            c.failed
        ));
        let retries = self.api.retries.load(std::sync::atomic::Ordering::Relaxed);
        if retries > 0 {
            text.push_str(&format!(", retries {retries}"));
        }
        text
    }

    /// Every pending id, in rounds: a round deletes; with --wait-processing, the ids refused as
    /// processing are polled and go into the next round once they finished.
    async fn all(&self, pending: Vec<String>, args: &DeleteArgs) -> Result<(), ClientError> {
        let deadline = args
            .wait_timeout
            .map(|s| Instant::now() + Duration::from_secs_f64(s));
        let mut waiting: Vec<String> = Vec::new();
        let mut round = pending;
        loop {
            if !round.is_empty() {
                waiting.extend(self.round(round, args.wait_processing).await?);
            }
            self.counts().waiting = waiting.len() as u64;
            if waiting.is_empty() {
                return Ok(());
            }
            let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
            if !args.wait_processing || timed_out {
                if timed_out {
                    self.out
                        .note("--wait-timeout passed: the videos still processing are left");
                }
                self.still_processing(&waiting);
                return Ok(());
            }
            self.out.status(&self.tallies());
            tokio::time::sleep(Duration::from_secs_f64(args.poll_interval)).await;
            round = self.finished(&mut waiting).await?;
        }
    }

    /// One pass over `ids`; answers the ids refused as processing when `hold_processing`.
    async fn round(
        &self,
        ids: Vec<String>,
        hold_processing: bool,
    ) -> Result<Vec<String>, ClientError> {
        let held = Mutex::new(Vec::new());
        let batches: Vec<Vec<String>> = ids.chunks(self.batch_size).map(<[_]>::to_vec).collect();
        stream::iter(batches.into_iter().map(Ok::<_, ClientError>))
            .try_for_each_concurrent(self.jobs, |batch| {
                let held = &held;
                async move {
                    let processing = self.batch(&batch, hold_processing).await?;
                    held.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(processing);
                    Ok::<(), ClientError>(())
                }
            })
            .await?;
        Ok(held.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    /// Deletes one batch and records each id's outcome; answers the ids held as processing.
    async fn batch(
        &self,
        ids: &[String],
        hold_processing: bool,
    ) -> Result<Vec<String>, ClientError> {
        self.state.sent(ids)?;
        let reply = self
            .api
            .post_tracked(DELETE, &json!({"_ids": ids.join(",")}))
            .await;
        let got: Vec<Got> = match reply.result {
            Ok(answer) => {
                let doubt = |id: &String| reply.doubt || self.in_doubt.contains(id);
                outcomes(&answer, ids, doubt)
            }
            Err(CallError::Fatal { code, msg }) => return Err(ClientError::Refused { code, msg }),
            Err(e) => ids.iter().map(|_| Got::Failed(e.to_string())).collect(),
        };
        self.state.outcomes(ids.iter().zip(&got).map(|(id, got)| {
            let (outcome, msg) = match got {
                Got::Deleted { on_retry: false } => (Outcome::Deleted, None),
                Got::Deleted { on_retry: true } => (Outcome::Deleted, Some("confirmed on retry")),
                Got::NotFound => (Outcome::NotFound, None),
                Got::Processing(msg) => (Outcome::Processing, Some(msg.as_str())),
                Got::Failed(msg) => (Outcome::Failed, Some(msg.as_str())),
            };
            (id.as_str(), outcome, msg)
        }))?;
        let mut held = Vec::new();
        let mut done = 0;
        for (id, got) in ids.iter().zip(got) {
            let mut c = self.counts();
            let line = match got {
                Got::Deleted { on_retry } => {
                    c.deleted += 1;
                    c.on_retry += u64::from(on_retry);
                    if on_retry {
                        json!({"id": id, "outcome": "deleted", "on_retry": true})
                    } else {
                        json!({"id": id, "outcome": "deleted"})
                    }
                }
                Got::NotFound => {
                    c.not_found += 1;
                    json!({"id": id, "outcome": "not_found"})
                }
                Got::Processing(_) if hold_processing => {
                    held.push(id.clone());
                    continue;
                }
                Got::Processing(msg) => {
                    c.processing += 1;
                    drop(c);
                    self.out.note(&format!("still processing {id}"));
                    json!({"id": id, "outcome": "processing", "msg": msg})
                }
                Got::Failed(msg) => {
                    c.failed += 1;
                    drop(c);
                    self.out.note(&format!("failed {id}: {msg}"));
                    json!({"id": id, "outcome": "failed", "msg": msg})
                }
            };
            done += 1;
            self.out.record(&line);
        }
        self.out.advance(done, &self.tallies());
        Ok(held)
    }

    /// Polls the waiting ids; takes out and answers those no longer processing.
    async fn finished(&self, waiting: &mut Vec<String>) -> Result<Vec<String>, ClientError> {
        let chunks: Vec<Vec<String>> = waiting.chunks(POLL_BATCH).map(<[_]>::to_vec).collect();
        let answers: Vec<Result<Value, CallError>> = stream::iter(chunks)
            .map(|chunk| async move {
                self.api
                    .post(RESULTS, &json!({"_ids": chunk.join(",")}))
                    .await
            })
            .buffer_unordered(self.jobs)
            .collect()
            .await;
        let mut processing = HashSet::new();
        for answer in answers {
            match answer {
                Ok(answer) => {
                    for item in answer["data"]["result"].as_array().into_iter().flatten() {
                        if item["status"].as_i64() == Some(2) {
                            if let Some(id) = item["_id"].as_str() {
                                processing.insert(id.to_ascii_lowercase());
                            }
                        }
                    }
                }
                Err(CallError::Fatal { code, msg }) => {
                    return Err(ClientError::Refused { code, msg })
                }
                // Unknown this time: keep waiting, ask again at the next poll.
                Err(e) => {
                    self.out.note(&format!("polling processing videos: {e}"));
                    return Ok(Vec::new());
                }
            }
        }
        let (still, ready): (Vec<String>, Vec<String>) =
            waiting.drain(..).partition(|id| processing.contains(id));
        *waiting = still;
        Ok(ready)
    }

    fn still_processing(&self, ids: &[String]) {
        {
            let mut c = self.counts();
            c.processing += ids.len() as u64;
            c.waiting = 0;
        }
        for id in ids {
            self.out.record(&json!({"id": id, "outcome": "processing"}));
            self.out.note(&format!("still processing {id}"));
        }
        self.out.advance(ids.len() as u64, &self.tallies());
    }

    fn summary(&self, total: usize, took: Duration, interrupted: bool) {
        let c = self.counts();
        let handled = c.deleted + c.not_found + c.processing + c.failed - c.earlier;
        let seconds = took.as_secs_f64();
        let rate = handled as f64 / seconds.max(1e-3);
        let retries = self.api.retries.load(std::sync::atomic::Ordering::Relaxed);
        self.out.record(&json!({"summary": {
            "total": total,
            "deleted": c.deleted,
            "deleted_on_retry": c.on_retry,
            "not_found": c.not_found,
            "processing": c.processing,
            "failed": c.failed,
            "earlier": c.earlier,
            "unfinished": (total as u64).saturating_sub(c.deleted + c.not_found + c.processing + c.failed),
            "retries": retries,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "ids_per_s": rate.round(),
            "interrupted": interrupted,
        }}));
        let mut deleted = format!("deleted: {}", c.deleted);
        let mut notes = Vec::new();
        if c.earlier > 0 {
            notes.push(format!("{} known from --state", c.earlier));
        }
        if c.on_retry > 0 {
            notes.push(format!("{} confirmed on retry", c.on_retry));
        }
        if !notes.is_empty() {
            deleted.push_str(&format!(" ({})", notes.join(", ")));
        }
        let mut text = format!(
            "{deleted}\nnot found: {}\nstill processing: {}\nfailed: {}\n{handled} ids in {seconds:.1} s ({rate:.0} ids/s, {retries} retries)",
            c.not_found, c.processing, c.failed
        );
        if interrupted {
            text.push_str("\ninterrupted: run again with the same --state to go on");
        }
        self.out.say(&text);
    }
}

/// Each id's outcome in a delbyids answer.
fn outcomes(answer: &Value, ids: &[String], doubt: impl Fn(&String) -> bool) -> Vec<Got> {
    let data = &answer["data"];
    let deleted: HashSet<String> = data["successIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect();
    let refused: HashMap<String, String> = data["noPermissionItems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let id = item["_id"].as_str()?.to_ascii_lowercase();
            let msg = item["msg"].as_str().unwrap_or("refused").to_owned();
            Some((id, msg))
        })
        .collect();
    ids.iter()
        .map(|id| {
            if deleted.contains(id) {
                return Got::Deleted { on_retry: false };
            }
            match refused.get(id) {
                Some(msg) if msg.contains("not found") => {
                    if doubt(id) {
                        Got::Deleted { on_retry: true }
                    } else {
                        Got::NotFound
                    }
                }
                Some(msg) if msg.contains("processing") => Got::Processing(msg.clone()),
                Some(msg) => Got::Failed(msg.clone()),
                None => Got::Failed("the answer does not mention this id".into()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_after_a_lost_answer_counts_as_deleted() {
        let ids: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let answer = json!({"code": 1000, "data": {
        "successIds": ["a"],
        "noPermissionItems": [
            {"_id": "b", "msg": "video resource not found"},
            {"_id": "c", "msg": "video resource is processing, please try again later"},
            {"_id": "d", "msg": "something else"},
        ]}});
        let got = outcomes(&answer, &ids, |_| false);
        assert!(matches!(got[0], Got::Deleted { on_retry: false }));
        assert!(matches!(got[1], Got::NotFound));
        assert!(matches!(got[2], Got::Processing(_)));
        assert!(matches!(&got[3], Got::Failed(m) if m == "something else"));
        assert!(matches!(got[4], Got::Failed(_)), "an id the answer forgot");
        let got = outcomes(&answer, &ids, |_| true);
        assert!(matches!(got[1], Got::Deleted { on_retry: true }));
    }
}
