//! The render queue's workers and its reaper. The protocol lives in the store (claim, heartbeat,
//! complete/fail fenced by the lease owner, reap); this module drives it.

mod inputs;
mod reaper;
mod slots;
mod worker;

use std::time::Duration;

pub use reaper::run_reaper;
pub use slots::{RenderSlots, SlotPermit};
pub use worker::{process_next, run_worker, spawn_workers};

#[derive(Clone, Debug)]
pub struct JobSettings {
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    pub heartbeat: Duration,
    /// How long an idle worker waits before looking for work again.
    pub poll: Duration,
    /// Claims per video before the reaper fails it (with refund).
    pub max_attempts: i64,
    pub reap_interval: Duration,
    /// First delay before retrying a render that hit a passing fault; doubled per attempt.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A staged output file not taken by a completion within this long is removed.
    pub stage_grace: Duration,
    /// Claimers beyond the render slots: videos whose inputs are being fetched meanwhile.
    pub fetch_slots: usize,
    /// Most videos of one account processing at once (across every process of a database).
    pub max_in_flight_per_account: i64,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            poll: Duration::from_millis(500),
            max_attempts: 3,
            reap_interval: Duration::from_secs(5),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            stage_grace: Duration::from_secs(3600),
            fetch_slots: 16,
            max_in_flight_per_account: 8,
        }
    }
}
