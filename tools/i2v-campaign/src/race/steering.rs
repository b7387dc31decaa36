//! The emulator controls (issue #12) racing the deleters, creators and workers: operators
//! advancing videos a step (taking rendered ones from the workers), setting outcomes on videos
//! workers hold, moving account clocks and resetting an account mid-round. After the load, the
//! videos the emulator holds are driven to an end, so that the round can quiesce.

use std::time::Duration;

use i2v::domain::emulation::{Ending, Lifecycle, Outcome};
use i2v::domain::{ObjectId, VideoStatus};
use i2v::service::emulation::{self, ClockMove};
use i2v::service::ServiceError;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::actors::Stage;

/// The round's last account is emulated, taking the modes in turn; the others render, so the
/// workers keep most of the load.
pub fn lifecycle(round: usize, account: usize, accounts: usize) -> Lifecycle {
    if account + 1 != accounts || accounts < 2 {
        return Lifecycle::Render;
    }
    match round % 3 {
        0 => Lifecycle::Instant,
        1 => Lifecycle::Timed {
            processing_after_ms: 5,
            complete_after_ms: 60,
        },
        _ => Lifecycle::Manual,
    }
}

/// A scripted queue for an emulated account: some of its next videos fail (refunded) or stick.
pub fn outcomes() -> Vec<Outcome> {
    let fail = Outcome {
        result: Ending::Fail,
        reason: Some("race: scripted failure".into()),
        ..Outcome::default()
    };
    let stuck = Outcome {
        result: Ending::Stuck,
        ..Outcome::default()
    };
    vec![fail, stuck, Outcome::default(), fail_after_polls()]
}

fn fail_after_polls() -> Outcome {
    Outcome {
        result: Ending::Fail,
        after_polls: Some(2),
        ..Outcome::default()
    }
}

/// One operator: `steps` random control calls on the round's targets; `reset` is the account
/// it resets once, at a random step.
pub async fn steerer(stage: &Stage, mut rng: StdRng, steps: usize, reset: Option<i64>) {
    let reset_at = rng.random_range(0..steps.max(1));
    for n in 0..steps {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..8))).await;
        if n == reset_at {
            if let Some(uid) = reset {
                let answer = emulation::reset(&stage.app, uid).await.map(drop);
                note(stage, "reset", answer);
                continue;
            }
        }
        let picked = stage.targets.lock().unwrap().choose(&mut rng).copied();
        let Some((id, uid)) = picked else { continue };
        let hex = id.to_hex();
        match rng.random_range(0..10) {
            0..=3 => note(
                stage,
                "advance",
                emulation::advance(&stage.app, &hex).await.map(drop),
            ),
            4..=6 => {
                let outcome = match rng.random_range(0..4) {
                    0 => Outcome {
                        result: Ending::Fail,
                        reason: Some("race: outcome set".into()),
                        ..Outcome::default()
                    },
                    1 => Outcome {
                        result: Ending::Stuck,
                        ..Outcome::default()
                    },
                    2 => Outcome {
                        after_ms: Some(rng.random_range(0..40)),
                        ..Outcome::default()
                    },
                    _ => Outcome::default(),
                };
                let set = emulation::set_outcome(&stage.app, &hex, &outcome).await;
                note(stage, "set outcome", set.map(drop));
            }
            7..=8 => {
                let by = ClockMove::By(rng.random_range(0..80));
                let moved = emulation::advance_clock(&stage.app, uid, by).await;
                note(stage, "clock advance", moved.map(drop));
            }
            _ => {
                let caller = &stage.callers[&uid];
                let list = i2v::domain::IdList::parse(&hex, 100).expect("one id");
                let polled = i2v::service::videos::results(&stage.app, caller, &list).await;
                note(stage, "results", polled.map(drop));
            }
        }
    }
}

/// Not found (deleted or reset meanwhile) and "cannot operate" (finished meanwhile) are the
/// answers a race must expect; anything else is a failed call.
fn note(stage: &Stage, what: &str, answer: Result<(), ServiceError>) {
    match answer {
        Ok(()) | Err(ServiceError::NotFound(_)) | Err(ServiceError::CannotOperate(_)) => {}
        Err(e) => stage.errors.lock().unwrap().push(format!("{what}: {e}")),
    }
}

/// Advances every unfinished emulated video among `ids` until it ends (stuck ones complete):
/// nothing else would move a manual or stuck video. `Err` names what did not end.
pub async fn finish_emulated(stage: &Stage, ids: &[ObjectId]) -> Result<(), String> {
    let mut left = Vec::new();
    for id in ids {
        for _ in 0..4 {
            let scripted = match stage.app.store.scripted(*id).await {
                Ok(Some(s)) => s,
                Ok(None) => break,
                Err(e) => return Err(format!("read {id}: {e}")),
            };
            let unfinished = matches!(
                scripted.video.status,
                VideoStatus::Queued | VideoStatus::Processing
            );
            if scripted.script.is_none() || !unfinished {
                break;
            }
            match emulation::advance(&stage.app, &id.to_hex()).await {
                Ok(_) | Err(ServiceError::NotFound(_)) | Err(ServiceError::CannotOperate(_)) => {}
                Err(e) => return Err(format!("advance {id}: {e}")),
            }
        }
        if let Ok(Some(s)) = stage.app.store.scripted(*id).await {
            if s.script.is_some()
                && matches!(
                    s.video.status,
                    VideoStatus::Queued | VideoStatus::Processing
                )
            {
                left.push(format!("{id} (status {})", s.video.status.code()));
            }
        }
    }
    super::history::all_ok(left)
}
