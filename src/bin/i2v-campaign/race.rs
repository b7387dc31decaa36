//! Race campaign: see main.rs. (Being written.)

use crate::tally::Tally;

#[derive(clap::Args)]
pub struct RaceArgs {}

pub async fn run(_args: RaceArgs) -> anyhow::Result<Tally> {
    anyhow::bail!("the race campaign is not built yet")
}
