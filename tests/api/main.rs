//! The one integration-test binary: every test spawns i2v on 127.0.0.1:0 with a fresh data dir.

mod admin;
mod assets;
mod auth;
mod backends;
mod catalogue;
mod chaos;
mod cli;
mod client;
mod comfyui;
mod connections;
mod create;
mod delete;
mod emulator;
mod fairness;
mod helpers;
mod listing;
mod migrate_store;
mod multiprocess;
mod openapi;
mod render;
mod requests;
mod results;
mod s3;
mod store_suite;
mod webhook_faults;
mod webhooks;
