//! The checks that need the order of store calls (DESIGN §4 invariants), read off the
//! recorder's log. Each concludes only from calls whose stamps do not overlap, so a report is
//! always a real violation, never an artefact of timing.
//!
//! A lease is held from its claim until the owner's next finishing call or a reap that could
//! have expired it: owner tokens are unique per claim, so no one else can end it, and nothing
//! gives it back once ended. A delete that succeeds entirely inside that window deleted a
//! processing video.

use std::collections::{HashMap, HashSet};

use i2v::domain::ObjectId;

use super::emulated::{self, Stored};
use super::findings::all_ok;
use super::recorder::{Event, FinishKind, Op};

pub type Verdict = (&'static str, Result<(), String>);

/// What earlier rounds leave for later ones: which ids were deleted, and when.
#[derive(Default)]
pub struct History {
    /// End stamp of the first successful delete of each id.
    deleted_at: HashMap<ObjectId, u64>,
    successes: HashMap<ObjectId, usize>,
    /// Every video's create call (resets remove what was stored before them).
    stored: HashMap<ObjectId, Stored>,
    /// Videos a reset surely removed, and those it may have.
    removed: HashSet<ObjectId>,
    maybe_removed: HashSet<ObjectId>,
}

/// A successful delete of one id: the caller and the call's stamps.
struct Success {
    uid: i64,
    start: u64,
    end: u64,
}

impl History {
    /// Every id ever deleted.
    pub fn deleted(&self) -> impl Iterator<Item = &ObjectId> {
        self.deleted_at.keys()
    }

    /// Every id a reset surely removed.
    pub fn removed(&self) -> &HashSet<ObjectId> {
        &self.removed
    }

    /// Ids stored while a reset ran: either outcome is right.
    pub fn maybe_removed(&self) -> &HashSet<ObjectId> {
        &self.maybe_removed
    }

    /// Checks one round's events; `owners` maps every id ever created to its account.
    pub fn check(&mut self, events: &[Event], owners: &HashMap<ObjectId, i64>) -> Vec<Verdict> {
        let mut shape = Vec::new();
        let mut foreign = Vec::new();
        let mut successes: HashMap<ObjectId, Vec<Success>> = HashMap::new();
        let mut twice = Vec::new();
        for e in events {
            if let Op::Create { uid, ids } = &e.op {
                let (uid, start, end) = (*uid, e.start, e.end);
                for id in ids {
                    self.stored.insert(*id, Stored { uid, start, end });
                }
            }
        }
        let removed = emulated::removed_by_resets(events, &self.stored);
        self.removed.extend(removed.sure.keys());
        self.maybe_removed.extend(&removed.maybe);
        self.maybe_removed.retain(|id| !self.removed.contains(id));
        for e in events {
            let Op::Delete {
                uid,
                ids,
                deleted,
                processing,
            } = &e.op
            else {
                continue;
            };
            if let Err(why) = one_list_each(ids, deleted, processing) {
                shape.push(format!("uid {uid} {why}"));
            }
            for id in deleted.iter().chain(processing) {
                if owners.get(id) != Some(uid) {
                    foreign.push(format!(
                        "{id} answered to uid {uid}, owner {:?}",
                        owners.get(id)
                    ));
                }
            }
            for id in deleted {
                let count = self.successes.entry(*id).or_default();
                *count += 1;
                if *count == 2 {
                    twice.push(id.to_hex());
                }
                let first = self.deleted_at.entry(*id).or_insert(e.end);
                *first = (*first).min(e.end);
                let (uid, start, end) = (*uid, e.start, e.end);
                successes
                    .entry(*id)
                    .or_default()
                    .push(Success { uid, start, end });
            }
        }
        vec![
            (
                "store deletes name each id in at most one list",
                all_ok(shape),
            ),
            (
                "only the caller's videos are deleted or reported processing",
                all_ok(foreign),
            ),
            (
                "an id is deleted at most once, across all requests",
                all_ok(twice),
            ),
            (
                "a processing video is never deleted",
                self.held_never_deleted(events, &successes),
            ),
            (
                "a deleted video is never claimed, completed or read afterwards",
                self.no_afterlife(events),
            ),
            (
                "a video answered processing had been claimed or started",
                processing_was_claimed(events),
            ),
            (
                "a video the emulator holds is never deleted",
                emulator_held_never_deleted(events, &successes),
            ),
            (
                "a video removed by a reset is never claimed, stepped or finished afterwards",
                emulated::no_afterlife_after_reset(events, &removed.sure),
            ),
            (
                "a worker never finishes a video the emulator took over",
                emulated::takeover_fences_workers(events),
            ),
        ]
    }

    fn held_never_deleted(
        &self,
        events: &[Event],
        successes: &HashMap<ObjectId, Vec<Success>>,
    ) -> Result<(), String> {
        let mut bad = Vec::new();
        for claim in events {
            let Op::Claim {
                id,
                owner,
                lease_until,
            } = &claim.op
            else {
                continue;
            };
            let Some(deletes) = successes.get(id) else {
                continue;
            };
            let window_end = events
                .iter()
                .filter_map(|e| match &e.op {
                    Op::Finish {
                        id: i, owner: o, ..
                    } if i == id && o == owner => Some(e.start),
                    Op::Reap { now } if *now > *lease_until && e.end > claim.start => Some(e.start),
                    // An operator's take-over ends the worker's lease: from then on the video is
                    // the emulator's, which "a video the emulator holds is never deleted" checks.
                    Op::TakeOver { id: i, .. } if i == id && e.end > claim.start => Some(e.start),
                    _ => None,
                })
                .min()
                .unwrap_or(u64::MAX);
            for d in deletes {
                if d.start > claim.end && d.end < window_end {
                    bad.push(format!(
                        "{id} deleted by uid {} at [{}, {}] while leased to {owner} [{}, {window_end})",
                        d.uid, d.start, d.end, claim.end
                    ));
                }
            }
        }
        all_ok(bad)
    }

    fn no_afterlife(&self, events: &[Event]) -> Result<(), String> {
        let mut bad = Vec::new();
        for e in events {
            let (id, what) = match &e.op {
                Op::Claim { id, .. } => (id, "claimed"),
                Op::Finish {
                    id,
                    kind: FinishKind::Complete,
                    ok: true,
                    ..
                } => (id, "completed"),
                Op::Step { id, ok: true, .. } => (id, "stepped"),
                Op::TakeOver { id, .. } => (id, "taken over"),
                Op::Read { found, .. } => {
                    for id in found {
                        self.after_delete(id, "read", e.start, &mut bad);
                    }
                    continue;
                }
                _ => continue,
            };
            self.after_delete(id, what, e.start, &mut bad);
        }
        all_ok(bad)
    }

    /// Reports `id` if `what` (a call that started at `start`) came after its delete's answer.
    fn after_delete(&self, id: &ObjectId, what: &str, start: u64, bad: &mut Vec<String>) {
        if let Some(&gone) = self.deleted_at.get(id) {
            if start > gone {
                bad.push(format!("{id} {what} at {start} after its delete at {gone}"));
            }
        }
    }
}

/// `deleted` and `processing` hold requested ids only, each once, and never the same id.
fn one_list_each(
    ids: &[ObjectId],
    deleted: &[ObjectId],
    processing: &[ObjectId],
) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for id in deleted.iter().chain(processing) {
        if !ids.contains(id) {
            return Err(format!("answered {id}, which it did not ask for"));
        }
        if !seen.insert(id) {
            return Err(format!("answered {id} twice"));
        }
    }
    Ok(())
}

fn processing_was_claimed(events: &[Event]) -> Result<(), String> {
    let mut bad = Vec::new();
    for e in events {
        let Op::Delete { processing, .. } = &e.op else {
            continue;
        };
        for id in processing {
            if !emulated::was_started(events, id, e.end) {
                bad.push(format!(
                    "{id} answered processing at {} but never claimed",
                    e.end
                ));
            }
        }
    }
    all_ok(bad)
}

fn emulator_held_never_deleted(
    events: &[Event],
    successes: &HashMap<ObjectId, Vec<Success>>,
) -> Result<(), String> {
    let mut bad = Vec::new();
    for (id, from, until) in emulated::emulator_holds(events) {
        for d in successes.get(&id).into_iter().flatten() {
            if d.start > from && d.end < until {
                bad.push(format!(
                    "{id} deleted by uid {} at [{}, {}] while the emulator held it [{from}, {until})",
                    d.uid, d.start, d.end
                ));
            }
        }
    }
    all_ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: u64, end: u64, op: Op) -> Event {
        Event { start, end, op }
    }

    fn claim(id: ObjectId, lease_until: i64) -> Op {
        let owner = "w/1".to_owned();
        Op::Claim {
            id,
            owner,
            lease_until,
        }
    }

    fn delete(id: ObjectId) -> Op {
        let (ids, deleted, processing) = (vec![id], vec![id], vec![]);
        Op::Delete {
            uid: 7,
            ids,
            deleted,
            processing,
        }
    }

    fn verdicts(events: &[Event], id: ObjectId) -> HashMap<&'static str, bool> {
        let owners = HashMap::from([(id, 7)]);
        let mut history = History::default();
        let found = history.check(events, &owners);
        found
            .into_iter()
            .map(|(what, v)| (what, v.is_ok()))
            .collect()
    }

    #[test]
    fn a_delete_inside_a_held_lease_is_caught() {
        let id = ObjectId::generate(1);
        let events = [at(1, 2, claim(id, 100)), at(3, 4, delete(id))];
        assert!(!verdicts(&events, id)["a processing video is never deleted"]);
    }

    #[test]
    fn a_reap_that_may_have_expired_the_lease_excuses_the_delete() {
        let id = ObjectId::generate(1);
        let events = [
            at(1, 2, claim(id, 100)),
            at(3, 5, Op::Reap { now: 101 }),
            at(4, 6, delete(id)),
        ];
        assert!(verdicts(&events, id)["a processing video is never deleted"]);
        let early_reap = [
            at(1, 2, claim(id, 100)),
            at(3, 5, Op::Reap { now: 99 }),
            at(6, 7, delete(id)),
        ];
        assert!(!verdicts(&early_reap, id)["a processing video is never deleted"]);
    }

    #[test]
    fn a_take_over_hands_the_video_to_the_emulator_check() {
        let id = ObjectId::generate(1);
        let taken = Op::TakeOver {
            id,
            processing: true,
        };
        // Taken over, then finished by the emulator (not logged here) and deleted: no worker
        // held it when it went.
        let events = [
            at(1, 2, claim(id, 100)),
            at(3, 4, taken),
            at(6, 7, delete(id)),
        ];
        assert!(verdicts(&events, id)["a processing video is never deleted"]);
    }

    #[test]
    fn overlapping_calls_prove_nothing() {
        let id = ObjectId::generate(1);
        let events = [at(1, 4, claim(id, 100)), at(2, 5, delete(id))];
        assert!(verdicts(&events, id)["a processing video is never deleted"]);
    }

    #[test]
    fn double_deletes_and_claims_after_a_delete_are_caught() {
        let id = ObjectId::generate(1);
        let events = [
            at(1, 2, delete(id)),
            at(3, 4, delete(id)),
            at(5, 6, claim(id, 100)),
        ];
        let v = verdicts(&events, id);
        assert!(!v["an id is deleted at most once, across all requests"]);
        assert!(!v["a deleted video is never claimed, completed or read afterwards"]);
    }

    #[test]
    fn a_read_that_sees_a_video_after_its_delete_is_caught() {
        let id = ObjectId::generate(1);
        let read = |found| Op::Read { found };
        // A read overlapping the delete may see it; one that starts after its answer may not.
        let overlapping = [at(1, 4, delete(id)), at(2, 5, read(vec![id]))];
        assert!(
            verdicts(&overlapping, id)
                ["a deleted video is never claimed, completed or read afterwards"]
        );
        let after = [at(1, 2, delete(id)), at(3, 4, read(vec![id]))];
        assert!(
            !verdicts(&after, id)["a deleted video is never claimed, completed or read afterwards"]
        );
        let gone = [at(1, 2, delete(id)), at(3, 4, read(vec![]))];
        assert!(
            verdicts(&gone, id)["a deleted video is never claimed, completed or read afterwards"]
        );
    }
}
