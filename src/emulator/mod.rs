//! The emulator's machinery: moves videos that follow a script (admin API lifecycles and
//! outcomes) instead of the renderer, each step fenced in the store like a worker's, so deletes,
//! resets and operators racing a step always win cleanly. The use-cases that set scripts, clocks
//! and outcomes are `service::emulation`; this module only takes the steps that become due: right
//! after a create (`settle`), on a counted poll, when an account's clock passes a time (the
//! background loop, and at once after a clock advance: `catch_up`).

mod clock;
mod steps;

pub use clock::{account_now, catch_up, run};
pub use steps::{settle, settle_polled, take_step};
