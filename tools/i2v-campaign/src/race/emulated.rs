//! The history checks the emulator controls add (issue #12), read off the same stamped log as
//! `history`: emulated videos are held like leased ones, a take-over fences the worker that
//! had the video, and a reset removes an account's videos for good. As there, only calls whose
//! stamps do not overlap are compared.

use std::collections::{HashMap, HashSet};

use i2v::domain::ObjectId;

use super::history::all_ok;
use super::recorder::{Event, FinishKind, Op, StepKind};

/// When a video was stored: owner and the stamps of its create call.
#[derive(Clone, Copy)]
pub struct Stored {
    pub uid: i64,
    pub start: u64,
    pub end: u64,
}

/// Videos a reset removed: `sure` were stored before it began (id -> end stamp of the reset),
/// `maybe` were being stored while it ran.
#[derive(Default)]
pub struct Removed {
    pub sure: HashMap<ObjectId, u64>,
    pub maybe: HashSet<ObjectId>,
}

pub fn removed_by_resets(events: &[Event], stored: &HashMap<ObjectId, Stored>) -> Removed {
    let mut removed = Removed::default();
    for reset in events {
        let Op::Reset { uid } = reset.op else {
            continue;
        };
        for (id, s) in stored.iter().filter(|(_, s)| s.uid == uid) {
            if s.end < reset.start {
                let at = removed.sure.entry(*id).or_insert(reset.end);
                *at = (*at).min(reset.end);
            } else if s.start < reset.end {
                removed.maybe.insert(*id);
            }
        }
    }
    removed.maybe.retain(|id| !removed.sure.contains_key(id));
    removed
}

/// Nothing touches a video after a reset removed it: no claim, step, take-over or finish.
pub fn no_afterlife_after_reset(
    events: &[Event],
    sure: &HashMap<ObjectId, u64>,
) -> Result<(), String> {
    let mut bad = Vec::new();
    for e in events {
        let (id, what) = match &e.op {
            Op::Claim { id, .. } => (id, "claimed"),
            Op::Finish {
                id,
                kind: kind @ (FinishKind::Complete | FinishKind::Fail),
                ok: true,
                ..
            } => (
                id,
                if *kind == FinishKind::Complete {
                    "completed"
                } else {
                    "failed (refunded)"
                },
            ),
            Op::Step { id, ok: true, .. } => (id, "stepped"),
            Op::TakeOver { id, .. } => (id, "taken over"),
            _ => continue,
        };
        if let Some(&gone) = sure.get(id) {
            if e.start > gone {
                bad.push(format!(
                    "{id} {what} at {} after a reset removed it at {gone}",
                    e.start
                ));
            }
        }
    }
    all_ok(bad)
}

/// A worker whose video was taken over never completes or fails it afterwards.
pub fn takeover_fences_workers(events: &[Event]) -> Result<(), String> {
    let mut bad = Vec::new();
    for t in events {
        let Op::TakeOver { id, .. } = &t.op else {
            continue;
        };
        for e in events {
            if let Op::Finish {
                id: i,
                kind: FinishKind::Complete | FinishKind::Fail,
                ok: true,
                owner,
            } = &e.op
            {
                if i == id && e.start > t.end {
                    bad.push(format!(
                        "{id} finished by worker {owner} at {} after the emulator took it at {}",
                        e.start, t.end
                    ));
                }
            }
        }
    }
    all_ok(bad)
}

/// When the emulator holds a processing video: from its start step (or a take-over that left
/// it processing) to its ending step. `(id, from, until)`.
pub fn emulator_holds(events: &[Event]) -> Vec<(ObjectId, u64, u64)> {
    let mut holds = Vec::new();
    for e in events {
        let id = match &e.op {
            Op::Step {
                id,
                kind: StepKind::Start,
                ok: true,
            } => id,
            Op::TakeOver {
                id,
                processing: true,
            } => id,
            _ => continue,
        };
        let until = events
            .iter()
            .filter_map(|x| match &x.op {
                Op::Step {
                    id: i,
                    kind: StepKind::Complete | StepKind::Fail,
                    ok: true,
                } if i == id && x.end > e.end => Some(x.start),
                Op::Reset { .. } if x.end > e.end => Some(x.start),
                _ => None,
            })
            .min()
            .unwrap_or(u64::MAX);
        holds.push((*id, e.end, until));
    }
    holds
}

/// A video answered processing was claimed by a worker or started by the emulator first.
pub fn was_started(events: &[Event], id: &ObjectId, before: u64) -> bool {
    events.iter().any(|c| {
        c.start < before
            && match &c.op {
                Op::Claim { id: i, .. } => i == id,
                Op::Step {
                    id: i,
                    kind: StepKind::Start,
                    ok: true,
                } => i == id,
                Op::TakeOver {
                    id: i,
                    processing: true,
                } => i == id,
                _ => false,
            }
    })
}
