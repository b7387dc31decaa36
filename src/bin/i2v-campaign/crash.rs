//! Crash campaign: see main.rs. (Being written.)

use std::process::ExitCode;

use crate::tally::Tally;

#[derive(clap::Args)]
pub struct CrashArgs {}

pub fn run_child_role(_runtime: &tokio::runtime::Runtime) -> Option<ExitCode> {
    None
}

pub async fn run(_args: CrashArgs) -> anyhow::Result<Tally> {
    anyhow::bail!("the crash campaign is not built yet")
}
