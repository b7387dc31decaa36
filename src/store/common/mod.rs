//! The execution both backends run word for word, written once. Each macro emits one
//! capability's `impl` for a backend's store type; the backend passes in what its engine does
//! differently (how a writing transaction begins, a lock clause, a dialect's statement), so
//! those differences stay in its folder. Macros rather than generic functions because sqlx's
//! bind and executor bounds, spelled out per value type and per database, would hide the code.
//!
//! Each backend's store has a `pool` field and a method that begins its writing transaction.

mod accounts;
mod emulation;
mod faults;
mod files;
mod journal;
mod queue;
mod videos;
mod webhooks;

pub(super) use accounts::accounts;
pub(super) use emulation::emulation;
pub(super) use faults::faults;
pub(super) use files::file_outbox;
pub(super) use journal::request_journal;
pub(super) use queue::render_queue;
pub(super) use videos::video_control;
pub(super) use webhooks::webhook_outbox;
