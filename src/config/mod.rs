//! One configuration tree, defined once: each `[section]` is a typed struct that its consumer
//! takes as it is (`&config.jobs`, `&config.render`). Durations are `Duration`s, secrets never
//! print, and everything is checked once, at load.
//!
//! Precedence, lowest first: built-in defaults, the TOML file (`--config`/`I2V_CONFIG`),
//! environment variables (`I2V_<KEY>` for a top-level key, `I2V_<SECTION>__<KEY>` for one in a
//! section), command-line flags. See `load` for the layering and `print` for `i2v config print`.
//!
//! This module imports nothing of i2v but `redact`: what it needs to know about storage (which
//! URLs are valid) lives here as plain data, and the storage modules read it from here. This
//! file only names the parts; `root` holds `Config` itself.

mod auth;
mod blob_location;
mod blobs;
mod comfyui;
mod console;
mod database;
mod duration;
mod emulator;
mod env;
mod error;
mod jobs;
mod journal;
mod limits;
mod load;
mod origin;
mod outbound;
mod print;
mod render;
mod retention;
mod root;
mod secret;
mod server;
mod sweeper;
mod tokens;
mod webhooks;

pub use auth::Auth;
pub use blob_location::{BadBlobUrl, BlobLocation};
pub use blobs::{BlobsConfig, VideoUrlMode, MAX_PRESIGN_EXPIRY};
pub use comfyui::{ComfyInputs, ComfyModel, ComfyServer, ComfyUi};
pub use console::Console;
pub use database::{Backend, Database};
pub use emulator::Emulator;
pub use error::ConfigError;
pub use jobs::Jobs;
pub use journal::Journal;
pub use limits::Limits;
pub use load::{Loaded, Overrides, Sources};
pub use origin::{Origin, Origins};
pub use outbound::Outbound;
pub use render::{Render, DEFAULT_MAX_IMAGE_PIXELS};
pub use retention::Retention;
pub use root::Config;
pub use secret::{SecretUrl, REDACTED};
pub use server::Server;
pub use sweeper::Sweeper;
pub use tokens::Tokens;
pub use webhooks::Webhooks;

#[cfg(test)]
mod tests;
