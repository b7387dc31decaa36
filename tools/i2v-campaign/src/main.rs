//! Crash and race campaigns (issue #6): bounded, loopback-only runs that try hard to break
//! DESIGN §4 and then check every invariant, printing `N passed, M failed`.
//!
//! - `crash`: mixed HTTP load (create, delete, results, renders, webhooks to a local receiver)
//!   against an `i2v serve` child that is SIGKILLed at random moments and restarted on the same
//!   data; the stored state is audited after every kill and once more after quiescence.
//! - `race`: many concurrent deleters, creators and workers on the same ids, in-process against
//!   the store (SQLite, or PostgreSQL with `--database-url`), invariants checked after each round.
//!
//! Short forms run in CI (scripts/test); longer ones by hand, see the README.

mod crash;
mod database;
mod race;
mod tally;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "i2v-campaign",
    about = "i2v crash and race campaigns (cargo run --release -p i2v-campaign -- crash|race)"
)]
struct Cli {
    #[command(subcommand)]
    campaign: Campaign,
}

#[derive(Subcommand)]
enum Campaign {
    /// SIGKILL the server under mixed load, restart it on the same data, audit the state.
    Crash(crash::CrashArgs),
    /// Concurrent deleters, creators and workers on the same ids, audited after each round.
    Race(race::RaceArgs),
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Some(code) = crash::run_child_role(&runtime) {
        return code;
    }
    let cli = Cli::parse();
    let (name, done) = runtime.block_on(async {
        match cli.campaign {
            Campaign::Crash(args) => ("crash campaign", crash::run(args).await),
            Campaign::Race(args) => ("race campaign", race::run(args).await),
        }
    });
    match done {
        Ok(tally) => tally.finish(name),
        Err(e) => {
            eprintln!("i2v-campaign: {e:#}");
            ExitCode::FAILURE
        }
    }
}
