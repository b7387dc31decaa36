//! Mixed API load from several clients, and the record of every answer the server gave: what
//! the audits hold the stored state to. A request whose answer never came (the server was
//! killed) may or may not have happened; the record keeps such requests apart.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::fixtures::Receiver;

const NOT_FOUND_MSG: &str = "video resource not found";
/// Videos an account may have waiting for a render before its clients stop creating: keeps the
/// queue short enough to drain once the load stops.
const MAX_UNFINISHED: usize = 6;

#[derive(Clone, Debug)]
pub struct Account {
    pub uid: i64,
    pub key: String,
    /// The account's lifecycle (admin API), `None` for the server's default (render).
    pub lifecycle: Option<Value>,
    pub instant: bool,
}

#[derive(Default)]
pub struct Record {
    /// Answered creates: video id -> owner uid.
    pub created: HashMap<String, i64>,
    /// Ids answered as deleted, with how many answers said so (more than one is a violation).
    pub deleted: HashMap<String, usize>,
    /// Ids named in delete requests that got no answer: they may be gone.
    pub maybe_deleted: HashSet<String>,
    /// Broken promises seen in answers since the last audit took them.
    pub violations: Vec<String>,
    pub answered: u64,
    pub unanswered: u64,
    /// Ids an answered reset removed (stored before the reset was sent): they must be gone.
    pub reset_gone: HashSet<String>,
    /// Per account: resets sent so far, and resets waiting for their answer.
    pub resets_sent: HashMap<i64, u64>,
    pub resets_open: HashMap<i64, u64>,
    pub resets: u64,
    pub clock_moves: u64,
}

impl Record {
    /// Ids created and not (possibly) deleted, for one account.
    fn live(&self, uid: i64) -> Vec<String> {
        self.created
            .iter()
            .filter(|(id, owner)| {
                **owner == uid
                    && !self.deleted.contains_key(*id)
                    && !self.maybe_deleted.contains(*id)
                    && !self.reset_gone.contains(*id)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Records a delete answer after checking docs/design.md §4 step 3 on it: each distinct id
    /// once, in exactly one list; only the caller's own videos deleted; another account's ids
    /// refused with the shared message; never the same id deleted twice.
    pub fn take_delete_answer(&mut self, uid: i64, ids: &[String], answer: &Value) {
        if answer["code"] != 1000 {
            return self.violations.push(format!("delete refused: {answer}"));
        }
        let success: Vec<String> = answer["data"]["successIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let refused: Vec<(String, String)> = answer["data"]["noPermissionItems"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| {
                        let id = v["_id"].as_str().unwrap_or_default().to_owned();
                        (id, v["msg"].as_str().unwrap_or_default().to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut problems = Vec::new();
        let mut named: Vec<&str> = success.iter().map(String::as_str).collect();
        named.extend(refused.iter().map(|(id, _)| id.as_str()));
        // The server answers each distinct id once (docs/design.md §4 step 1 drops repeats).
        let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
        named.sort_unstable();
        want.sort_unstable();
        want.dedup();
        if named != want {
            problems.push(format!("asked {ids:?}, answered {answer}"));
        }
        for id in &success {
            if self.created.get(id) != Some(&uid) {
                problems.push(format!(
                    "{id} deleted by account {uid} that does not own it"
                ));
            }
            let times = self.deleted.entry(id.clone()).or_default();
            *times += 1;
            if *times > 1 {
                problems.push(format!("{id} answered as deleted {times} times"));
            }
        }
        for (id, msg) in &refused {
            let own = self.created.get(id) == Some(&uid);
            if !own && msg != NOT_FOUND_MSG {
                problems.push(format!(
                    "{id} of another account refused with {msg:?}, not the shared message"
                ));
            }
        }
        self.violations.extend(problems);
    }
}

pub struct Load {
    pub base: String,
    pub image_url: String,
    pub receiver: Receiver,
    pub accounts: Vec<Account>,
    pub record: Arc<Mutex<Record>>,
    pub http: reqwest::Client,
}

enum Answer {
    Body(Value),
    /// No answer (connection refused or reset, timeout): the outcome is unknown.
    Lost,
}

impl Load {
    /// One client: random operations until `stop`.
    pub async fn client(self: Arc<Self>, seed: u64, stop: CancellationToken) {
        let mut rng = StdRng::seed_from_u64(seed);
        while !stop.is_cancelled() {
            let account = self.accounts.choose(&mut rng).expect("accounts").clone();
            match rng.random_range(0..10) {
                0..=2 => self.create(&account, &mut rng).await,
                3..=6 => self.delete(&account, &mut rng).await,
                _ => self.results(&account, &mut rng).await,
            }
            let pause = Duration::from_millis(rng.random_range(5..40));
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn post(&self, key: &str, path: &str, body: Value) -> Answer {
        let sent = self
            .http
            .post(format!("{}/api/open/v4/image2Video/{path}", self.base))
            .header("x-api-key", key)
            .json(&body)
            .send()
            .await;
        let answer = match sent {
            Ok(resp) => {
                let status = resp.status();
                match resp.json::<Value>().await {
                    Ok(body) if status.is_success() => Answer::Body(body),
                    Ok(body) => {
                        self.violation(format!("{path} answered HTTP {status}: {body}"));
                        Answer::Lost
                    }
                    // Killed while sending the body.
                    Err(_) => Answer::Lost,
                }
            }
            Err(_) => Answer::Lost,
        };
        let mut record = self.record.lock().unwrap();
        match answer {
            Answer::Body(_) => record.answered += 1,
            Answer::Lost => record.unanswered += 1,
        }
        answer
    }

    fn violation(&self, what: String) {
        self.record.lock().unwrap().violations.push(what);
    }

    fn unfinished(&self, uid: i64) -> usize {
        let live = self.record.lock().unwrap().live(uid);
        let received = self.receiver.received.lock().unwrap();
        live.iter()
            .filter(|id| {
                !received
                    .statuses
                    .get(*id)
                    .is_some_and(|s| s.iter().any(|&st| st == 3 || st == 4))
            })
            .count()
    }

    async fn create(&self, account: &Account, rng: &mut StdRng) {
        if self.unfinished(account.uid) >= MAX_UNFINISHED {
            return self.results(account, rng).await;
        }
        let resets_before = self.resets_around(account.uid);
        let body = json!({
            "image_url": self.image_url,
            "prompt": "slow zoom in",
            "resolution": "720p",
            "audio_type": 3,
            "video_length": 5,
            "webhookurl": self.receiver.url_for(account.uid),
        });
        let Answer::Body(answer) = self.post(&account.key, "createBySourcePrompt", body).await
        else {
            return;
        };
        match answer["data"]["_id"].as_str() {
            Some(id) if answer["code"] == 1000 => {
                let raced = resets_before.0 > 0 || self.resets_around(account.uid) != resets_before;
                if account.instant && !raced && answer["data"]["status"] != 3 {
                    self.violation(format!("instant-mode create answered {answer}"));
                }
                let mut record = self.record.lock().unwrap();
                record.created.insert(id.to_owned(), account.uid);
                if raced {
                    // Stored while a reset of its account ran: it may be gone.
                    record.maybe_deleted.insert(id.to_owned());
                }
            }
            _ => self.violation(format!("create refused: {answer}")),
        }
    }

    async fn delete(&self, account: &Account, rng: &mut StdRng) {
        let (mine, foreign, gone) = {
            let record = self.record.lock().unwrap();
            let mut live = record.live(account.uid);
            live.sort();
            let n = rng.random_range(1..=4);
            let mine: Vec<String> = live.choose_multiple(rng, n).cloned().collect();
            let mut others: Vec<&String> = record
                .created
                .iter()
                .filter(|(_, owner)| **owner != account.uid)
                .map(|(id, _)| id)
                .collect();
            others.sort();
            let foreign = others.choose(rng).map(|s| (*s).clone());
            let mut deleted: Vec<&String> = record.deleted.keys().collect();
            deleted.sort();
            let gone = deleted.choose(rng).map(|s| (*s).clone());
            (mine, foreign, gone)
        };
        let mut ids = mine.clone();
        ids.extend(foreign.iter().filter(|_| rng.random_bool(0.3)).cloned());
        ids.extend(gone.iter().filter(|_| rng.random_bool(0.3)).cloned());
        if rng.random_bool(0.2) {
            ids.push(format!("{:024x}", rng.random::<u128>() >> 32));
        }
        if ids.is_empty() {
            return;
        }
        let body = json!({ "_ids": ids.join(",") });
        let Answer::Body(answer) = self.post(&account.key, "delbyids", body).await else {
            let mut record = self.record.lock().unwrap();
            record.maybe_deleted.extend(mine);
            return;
        };
        self.record
            .lock()
            .unwrap()
            .take_delete_answer(account.uid, &ids, &answer);
    }

    async fn results(&self, account: &Account, rng: &mut StdRng) {
        let (ids, gone) = {
            let record = self.record.lock().unwrap();
            let mut own: Vec<&String> = record
                .created
                .iter()
                .filter(|(_, owner)| **owner == account.uid)
                .map(|(id, _)| id)
                .collect();
            own.sort();
            let n = rng.random_range(1..=10);
            let ids: Vec<String> = own.choose_multiple(rng, n).map(|s| (*s).clone()).collect();
            let gone: HashSet<String> = ids
                .iter()
                .filter(|id| record.deleted.contains_key(*id) || record.reset_gone.contains(*id))
                .cloned()
                .collect();
            (ids, gone)
        };
        if ids.is_empty() {
            return;
        }
        let body = json!({ "_ids": ids.join(",") });
        let Answer::Body(answer) = self.post(&account.key, "resultsByIds", body).await else {
            return;
        };
        let Some(result) = answer["data"]["result"].as_array() else {
            return self.violation(format!("results refused: {answer}"));
        };
        for video in result {
            let id = video["_id"].as_str().unwrap_or_default();
            if gone.contains(id) {
                self.violation(format!(
                    "{id} was answered as deleted (or reset) and came back in results"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: &str = "6650aa11bb22cc33dd44ee55";
    const THEIRS: &str = "6650aa11bb22cc33dd44ee66";

    fn record() -> Record {
        let mut r = Record::default();
        r.created.insert(MINE.into(), 1);
        r.created.insert(THEIRS.into(), 2);
        r
    }

    fn answer(success: &[&str], refused: &[(&str, &str)]) -> Value {
        let refused: Vec<Value> = refused
            .iter()
            .map(|(id, msg)| json!({ "_id": id, "msg": msg }))
            .collect();
        json!({ "code": 1000, "data": { "successIds": success, "noPermissionItems": refused } })
    }

    #[test]
    fn a_correct_answer_passes_and_is_recorded() {
        let mut r = record();
        let ids = [MINE.to_owned(), THEIRS.to_owned(), MINE.to_owned()];
        r.take_delete_answer(1, &ids, &answer(&[MINE], &[(THEIRS, NOT_FOUND_MSG)]));
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!(r.deleted.get(MINE), Some(&1));
    }

    #[test]
    fn broken_answers_are_caught() {
        let ids = [MINE.to_owned(), THEIRS.to_owned()];
        let broken = [
            // an id left out
            answer(&[MINE], &[]),
            // another account's video deleted
            answer(&[MINE, THEIRS], &[]),
            // another account's video refused in a way that reveals it exists
            answer(
                &[MINE],
                &[(
                    THEIRS,
                    "video resource is processing, please try again later",
                )],
            ),
            // an id in both lists
            answer(&[MINE], &[(MINE, NOT_FOUND_MSG), (THEIRS, NOT_FOUND_MSG)]),
        ];
        for bad in broken {
            let mut r = record();
            r.take_delete_answer(1, &ids, &bad);
            assert!(!r.violations.is_empty(), "not caught: {bad}");
        }
        let mut r = record();
        let ok = answer(&[MINE], &[(THEIRS, NOT_FOUND_MSG)]);
        r.take_delete_answer(1, &ids, &ok);
        r.take_delete_answer(1, &ids, &ok);
        assert!(
            r.violations.iter().any(|v| v.contains("2 times")),
            "{:?}",
            r.violations
        );
    }
}
