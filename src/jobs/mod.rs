//! The render queue's workers and its reaper. The protocol lives in the store (claim, heartbeat,
//! complete/fail fenced by the lease owner, reap); this module drives it.

mod inputs;
mod reaper;
mod slots;
mod worker;

pub use reaper::run_reaper;
pub use slots::{RenderSlots, SlotPermit};
pub use worker::{process_next, run_worker, spawn_workers};
