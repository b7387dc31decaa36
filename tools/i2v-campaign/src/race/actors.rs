//! The load of one round: deleters firing overlapping id lists (the caller's own ids, other
//! accounts' ids, unknown and malformed ones, duplicates) through the path delbyids uses and
//! straight at the store, creators adding videos the deleters then aim at too, and pollers
//! reading them all the while.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use i2v::clock::now_ms;
use i2v::domain::spec::VideoSpec;
use i2v::domain::VideoKind;
use i2v::domain::{IdList, ObjectId};
use i2v::service::videos::{self, DeleteResult};
use i2v::service::Caller;
use i2v::App;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

/// What the actors of one round share.
pub struct Stage {
    pub app: App,
    /// Every account so far, by uid.
    pub callers: HashMap<i64, Caller>,
    pub single: VideoSpec,
    pub batch: VideoSpec,
    /// Ids the deleters aim at, with their owners; creators add to it.
    pub targets: Mutex<Vec<(ObjectId, i64)>>,
    /// Videos created during the round, with their owners.
    pub created: Mutex<Vec<(ObjectId, i64)>>,
    pub answers: Mutex<Vec<Answer>>,
    /// Calls that failed outright: each one is a failed check.
    pub errors: Mutex<Vec<String>>,
}

/// One delbyids answer, as the HTTP handler would receive it.
pub struct Answer {
    pub uid: i64,
    pub raw: String,
    pub results: Vec<DeleteResult>,
}

pub async fn deleter(stage: &Stage, mut rng: StdRng, requests: usize) {
    for _ in 0..requests {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..6))).await;
        let picked = pick(stage, &mut rng, 5);
        let Some(&(_, owner)) = picked.first() else {
            continue;
        };
        // Mostly the owner of the first id, so that deletes do succeed; otherwise anyone.
        let uids: Vec<i64> = stage.callers.keys().copied().collect();
        let uid = if rng.random_bool(0.7) {
            owner
        } else {
            *uids.choose(&mut rng).expect("every round has accounts")
        };
        let raw = id_list(&mut rng, &picked);
        if rng.random_bool(0.7) {
            let list = IdList::parse(&raw, 100).expect("the list names at least one id");
            match videos::delete(&stage.app, &stage.callers[&uid], &list).await {
                Ok(results) => stage
                    .answers
                    .lock()
                    .unwrap()
                    .push(Answer { uid, raw, results }),
                Err(e) => stage.errors.lock().unwrap().push(format!("delete: {e}")),
            }
        } else {
            // Straight at the store, beside the grouped path: the two must not disagree.
            let ids = IdList::parse(&raw, 100).unwrap().object_ids();
            if let Err(e) = stage.app.store.delete_videos(uid, &ids, now_ms()).await {
                stage
                    .errors
                    .lock()
                    .unwrap()
                    .push(format!("store delete: {e}"));
            }
        }
    }
}

/// One to `most` of the round's targets, at random (repeats possible), with their owners.
fn pick(stage: &Stage, rng: &mut StdRng, most: usize) -> Vec<(ObjectId, i64)> {
    let targets = stage.targets.lock().unwrap();
    let k = rng.random_range(1..=most);
    (0..k)
        .filter_map(|_| targets.choose(rng).copied())
        .collect()
}

/// The `_ids` text of a request: the picked ids, sometimes with an unknown id, a malformed
/// segment, a duplicate and stray white space, in random order.
fn id_list(rng: &mut StdRng, picked: &[(ObjectId, i64)]) -> String {
    let mut segments: Vec<String> = picked.iter().map(|(id, _)| id.to_hex()).collect();
    if rng.random_bool(0.15) {
        segments.push(ObjectId::generate((now_ms() / 1000) as u64).to_hex());
    }
    if rng.random_bool(0.1) {
        segments.push("not-a-video".into());
    }
    if rng.random_bool(0.1) {
        segments.push(format!(" {} ", segments[0]));
    }
    let turn = rng.random_range(0..segments.len());
    segments.rotate_left(turn);
    segments.join(",")
}

pub async fn creator(stage: &Stage, mut rng: StdRng, creates: usize) {
    for _ in 0..creates {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..15))).await;
        let uids: Vec<i64> = stage.callers.keys().copied().collect();
        let caller = &stage.callers[uids.choose(&mut rng).unwrap()];
        let made = if rng.random_bool(0.5) {
            videos::create(&stage.app, caller, &stage.single, 1, VideoKind::Single).await
        } else {
            let count = rng.random_range(1..=4);
            videos::create(&stage.app, caller, &stage.batch, count, VideoKind::Batch).await
        };
        match made {
            Ok(made) => {
                let ids: Vec<_> = made.iter().map(|v| (v.id, v.uid)).collect();
                stage.created.lock().unwrap().extend(&ids);
                stage.targets.lock().unwrap().extend(ids);
            }
            Err(e) => stage.errors.lock().unwrap().push(format!("create: {e}")),
        }
    }
}

/// Polls up to 10 of the round's videos at a time as their owner, through the path resultsByIds
/// takes, while they are deleted, rendered and stepped: the recorder logs every read, and the
/// history checks that none sees a video after its delete was answered.
pub async fn poller(stage: &Stage, mut rng: StdRng, polls: usize) {
    for _ in 0..polls {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..4))).await;
        let picked = pick(stage, &mut rng, 10);
        let Some(&(_, owner)) = picked.first() else {
            continue;
        };
        let raw: Vec<String> = picked
            .iter()
            .filter(|(_, uid)| *uid == owner)
            .map(|(id, _)| id.to_hex())
            .collect();
        let list = IdList::parse(&raw.join(","), 100).expect("the list names at least one id");
        if let Err(e) = videos::results(&stage.app, &stage.callers[&owner], &list).await {
            stage.errors.lock().unwrap().push(format!("results: {e}"));
        }
    }
}

/// Every segment of the request in exactly one of the three lists, once; only the caller's
/// own videos deleted or reported processing.
pub fn check_answer(a: &Answer, owners: &HashMap<ObjectId, i64>) -> Result<(), String> {
    let asked = IdList::parse(&a.raw, 100).map_err(|e| e.to_string())?;
    let (mut deleted, mut processing, mut not_found) = (vec![], vec![], vec![]);
    for r in &a.results {
        match r {
            DeleteResult::Deleted(s) => deleted.push(s),
            DeleteResult::Processing(s) => processing.push(s),
            DeleteResult::NotFound(s) => not_found.push(s),
        }
    }
    for s in asked.segments() {
        let times = [&deleted, &processing, &not_found]
            .iter()
            .map(|list| list.iter().filter(|x| **x == s).count())
            .sum::<usize>();
        if times != 1 {
            return Err(format!("{s:?} of {:?} answered {times} times", a.raw));
        }
    }
    if a.results.len() != asked.segments().len() {
        return Err(format!("{:?} got {} answers", a.raw, a.results.len()));
    }
    for s in deleted.iter().chain(&processing) {
        let owner = ObjectId::parse(s).and_then(|id| owners.get(&id));
        if owner != Some(&a.uid) {
            return Err(format!(
                "{s} answered to uid {} but owned by {owner:?}",
                a.uid
            ));
        }
    }
    Ok(())
}
