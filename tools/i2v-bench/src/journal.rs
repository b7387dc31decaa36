//! The request journal's cost (issue #13): `delbyids` and `resultsByIds` on a real `i2v serve`
//! child with the journal off and on (`I2V_JOURNAL__ENABLED`), same store, same machine, same
//! run, alternating off/on rounds so that drift of a shared machine falls on both. Target: on is
//! at least 90% of off.

use std::time::Duration;

use anyhow::ensure;

use crate::http::{ids_call, load_average, warm_then_measure, DELETE_PATH, RESULTS_PATH};
use crate::load::{self, Expect, HttpLane, Tally};
use crate::report::{at_least, count, Figures, FiguresArgs, Table};
use crate::seed;
use crate::server::Child;

/// Videos per tenant that resultsByIds cycles over.
const RESULTS_PER_TENANT: usize = 400;

#[derive(clap::Args, Clone)]
pub struct JournalArgs {
    /// Stored videos besides the ones the cases use.
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
    /// Measured seconds per case.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Fresh videos created before each delete round (the round deletes them).
    #[arg(long, default_value_t = 10_000)]
    pool: usize,
    /// Ids per delbyids and resultsByIds call.
    #[arg(long, default_value_t = 10)]
    ids: usize,
    /// Accounts the videos and the requests are spread over.
    #[arg(long, default_value_t = 4)]
    tenants: usize,
    /// Off/on pairs; each case's best round is reported.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Store URL for the bench and the server (default: SQLite in a fresh temp dir).
    #[arg(long)]
    database_url: Option<String>,
    #[command(flatten)]
    figures: FiguresArgs,
}

fn median(ratios: &[f64]) -> f64 {
    let mut sorted = ratios.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The best of the rounds: the one least disturbed by the rest of the machine.
fn best(tallies: Vec<Tally>) -> Tally {
    tallies
        .into_iter()
        .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
        .expect("at least one round")
}

pub async fn run(args: JournalArgs) -> anyhow::Result<()> {
    ensure!(
        args.rounds > 0 && args.seconds > 0.0,
        "--rounds and --seconds must be positive"
    );
    ensure!(
        args.ids > 0 && args.tenants > 0 && args.pool >= args.ids * args.tenants,
        "--pool must give each tenant at least one call"
    );
    let backend = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let figures = args.figures.path("journal", backend);
    let previous = Figures::read(&figures)?;
    let before = load_average();
    let dir = tempfile::tempdir()?;
    let db = args.database_url.as_deref();
    let app = seed::open(dir.path(), db).await?;
    let tenants = seed::tenants(&app, args.tenants).await?;
    let results = seed::results_set(&app, &tenants, RESULTS_PER_TENANT, args.ids).await?;
    seed::resident(&app, &tenants, args.rows).await?;
    let (app, tenants) = (&app, tenants.as_slice());
    let (pool, ids) = (args.pool, args.ids);
    let seconds = Duration::from_secs_f64(args.seconds);

    let mut deletes: [Vec<Tally>; 2] = Default::default();
    let mut reads: [Vec<Tally>; 2] = Default::default();
    for round in 0..args.rounds {
        for (on, enabled) in [(0, "false"), (1, "true")] {
            eprintln!("round {}: journal {} ...", round + 1, ["off", "on"][on]);
            let server =
                Child::i2v_with(dir.path(), db, None, &[("I2V_JOURNAL__ENABLED", enabled)]).await?;
            let lanes = HttpLane::open(server.addr, args.connections, Expect::Deleted(ids)).await?;
            let cpu_before = server.cpu_time()?;
            let (lanes, mut delete) = load::in_rounds(lanes, seconds, move || async move {
                let groups = seed::deletable(app, tenants, pool, ids).await?;
                Ok(groups
                    .into_iter()
                    .map(|(t, ids)| ids_call(DELETE_PATH, &tenants[t], &ids))
                    .collect())
            })
            .await?;
            delete.server_cpu = Some(server.cpu_time()? - cpu_before);
            let calls = results
                .iter()
                .map(|(t, ids)| ids_call(RESULTS_PATH, &tenants[*t], ids))
                .collect();
            let lanes = HttpLane::expecting(lanes, Expect::Results(ids));
            let (_, read) = warm_then_measure(Some(&server), lanes, calls, seconds).await?;
            server.stop().await?;
            deletes[on].push(delete);
            reads[on].push(read);
        }
    }
    // Each round's pair too: on a shared machine the spread of these says how far one best-of
    // figure can be trusted.
    let pairs = |cases: &[Vec<Tally>; 2]| -> Vec<f64> {
        cases[0]
            .iter()
            .zip(&cases[1])
            .map(|(off, on)| on.per_second() / off.per_second())
            .collect()
    };
    let (delete_pairs, read_pairs) = (pairs(&deletes), pairs(&reads));
    let [delete_off, delete_on] = deletes.map(best);
    let [read_off, read_on] = reads.map(best);
    let n = count(args.rows);
    let mut table = Table::after(previous);
    let delete_case = format!("delbyids, {ids} ids");
    let read_case = format!("resultsByIds, {ids} ids");
    table.measured(
        &format!("{delete_case}, journal off"),
        &n,
        &delete_off,
        None,
        |_| None,
    );
    table.measured(
        &format!("{delete_case}, journal on"),
        &n,
        &delete_on,
        Some((&format!("{delete_case}, journal off"), &delete_off)),
        at_least(0.90),
    );
    table.measured(
        &format!("{read_case}, journal off"),
        &n,
        &read_off,
        None,
        |_| None,
    );
    table.measured(
        &format!("{read_case}, journal on"),
        &n,
        &read_on,
        Some((&format!("{read_case}, journal off"), &read_off)),
        at_least(0.90),
    );
    println!();
    println!("load average before the run: {before}");
    println!("load average after the run:  {}", load_average());
    println!();
    table.print();
    println!();
    args.figures
        .save(&table, &figures, before.clone(), load_average())?;
    println!("| round | delbyids on/off | resultsByIds on/off |");
    println!("|---|---:|---:|");
    for (round, (d, r)) in delete_pairs.iter().zip(&read_pairs).enumerate() {
        println!("| {} | {:.0}% | {:.0}% |", round + 1, d * 100.0, r * 100.0);
    }
    println!(
        "| median | {:.0}% | {:.0}% |",
        median(&delete_pairs) * 100.0,
        median(&read_pairs) * 100.0
    );
    println!();
    println!(
        "{} connections, {} s measured per case, best of {} off/on rounds, {} tenants, {}. \
         With the journal on every request is recorded with its answer and written in 100 ms \
         batches.",
        args.connections,
        args.seconds,
        args.rounds,
        args.tenants,
        if db.is_some() {
            "the given database"
        } else {
            "SQLite"
        },
    );
    Ok(())
}
