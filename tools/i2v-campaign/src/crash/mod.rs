//! Crash campaign (issue #6): mixed load against `i2v serve`, SIGKILL at random moments, restart
//! on the same data, audit. See the README section "Crash and race campaigns".
//!
//! Every kill is followed by an audit of the stored state while the server is down (the state a
//! crash leaves is exactly what must be consistent); after the last kill the load stops, the
//! server drains its queue, callbacks and file removals, stops gracefully, and a final audit
//! checks the rest of docs/design.md §4.

mod audit;
mod fixtures;
mod load;
mod operator;
mod server;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub use server::run_child_role;

use crate::database::{Database, Target};
use crate::tally::Tally;
use audit::Audit;
use load::{Account, Load};
use server::Server;

const ADMIN_TOKEN: &str = "crash-campaign-admin-token";
/// The initial grant of every account (a reset brings the balance back to it).
const GRANT: i64 = 1_000_000_000;

/// The load's accounts by lifecycle (`None`: the server's default, rendering): the emulated
/// ones get clock advances and resets from the operator.
fn lifecycles() -> [Option<Value>; 5] {
    [
        None,
        None,
        None,
        Some(json!({ "mode": "instant" })),
        Some(json!({ "mode": "timed", "processing_after_ms": 300, "complete_after_ms": 1500 })),
    ]
}

/// Short leases, grace periods and retry delays, so that recovery after each kill takes
/// seconds; a cheap render (few frames, fastest x264 preset) so that many videos finish.
const CONFIG: &str = r#"
[jobs]
lease_ms = 3000
heartbeat_ms = 500
poll_ms = 100
reap_interval_ms = 500
stage_grace_ms = 3000
retry_base_ms = 200
retry_max_ms = 2000

[sweeper]
interval_secs = 1

[render]
fps = 4
preset = "ultrafast"

[webhooks]
backoff_base_ms = 200
backoff_max_ms = 2000
timeout_secs = 2
poll_ms = 100
max_attempts = 30
"#;

#[derive(clap::Args)]
pub struct CrashArgs {
    /// How many times the server is killed with SIGKILL.
    #[arg(long, default_value_t = 20)]
    kills: usize,
    /// Concurrent API clients.
    #[arg(long, default_value_t = 6)]
    clients: usize,
    /// Render workers in the server.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Each kill comes a random time between these after the server became ready (ms).
    #[arg(long, default_value_t = 300)]
    min_uptime_ms: u64,
    /// Upper bound of that time (ms).
    #[arg(long, default_value_t = 2500)]
    max_uptime_ms: u64,
    /// Seed of the kill schedule and of the clients' choices (default: random, printed).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    target: Target,
    /// Where the data and the server log go, kept at the end (default: a fresh temporary
    /// directory, removed when every check passed).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Longest wait for the server to finish its work after the load stops (seconds).
    #[arg(long, default_value_t = 180)]
    quiesce_timeout_secs: u64,
}

pub async fn run(args: CrashArgs) -> anyhow::Result<Tally> {
    if args.min_uptime_ms > args.max_uptime_ms {
        bail!("--min-uptime-ms must not exceed --max-uptime-ms");
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let (dir, temp) = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new().prefix("i2v-crash-").tempdir()?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    println!(
        "crash campaign: {} kills, {} clients, seed {seed}",
        args.kills, args.clients
    );
    let database = Database::prepare(&args.target).await?;
    let setup = Setup::new(&args, database.url.as_deref(), &dir)?;
    let tally = campaign(&args, seed, &setup).await;
    database.finish().await;
    let passed = matches!(&tally, Ok(tally) if tally.failed() == 0);
    println!("{}", dispose_of_dir(temp, &dir, passed));
    tally
}

/// Keeps the data directory unless it is a temporary one and everything passed, and says where
/// it is only when it still exists. A run that ended in an error (e.g. the server would not
/// start) keeps it too: its server.log says why.
fn dispose_of_dir(temp: Option<tempfile::TempDir>, dir: &Path, passed: bool) -> String {
    match temp {
        None => format!("the data and server.log are in {}", dir.display()),
        Some(temp) if !passed => format!(
            "kept the data and server.log in {} for inspection",
            temp.keep().display()
        ),
        Some(temp) => match temp.close() {
            Ok(()) => "every check passed; removed the temporary data directory \
                       (--dir DIR keeps the data and server.log)"
                .to_owned(),
            Err(e) => format!(
                "could not remove the temporary data directory {}: {e}",
                dir.display()
            ),
        },
    }
}

/// The server's configuration, shared by the campaign's own store audits.
struct Setup {
    serve_args: Vec<String>,
    config: i2v::Config,
    log: PathBuf,
}

impl Setup {
    fn new(
        args: &CrashArgs,
        database_url: Option<&str>,
        dir: &std::path::Path,
    ) -> anyhow::Result<Setup> {
        let config_file = dir.join("i2v.toml");
        std::fs::write(&config_file, CONFIG)?;
        let data_dir = dir.join("data");
        let master_key = format!(
            "{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        );
        let overrides = i2v::config::Overrides {
            data_dir: Some(data_dir.clone()),
            database_url: database_url.map(str::to_owned),
            blob_url: args.target.blob_url.clone(),
            master_key: Some(master_key.clone()),
            ..Default::default()
        };
        let config = i2v::Config::load(Some(&config_file), overrides)?;
        let mut serve_args: Vec<String> = vec![
            "--config".into(),
            config_file.display().to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--master-key".into(),
            master_key,
            "--admin-token".into(),
            ADMIN_TOKEN.into(),
            "--workers".into(),
            args.workers.to_string(),
            // The image host and the receiver are on loopback.
            "--allow-private-urls".into(),
        ];
        for (flag, value) in [
            ("--database-url", database_url),
            ("--blob-url", args.target.blob_url.as_deref()),
        ] {
            if let Some(value) = value {
                serve_args.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        Ok(Setup {
            serve_args,
            config,
            log: dir.join("server.log"),
        })
    }

    async fn open_store(&self) -> anyhow::Result<Arc<dyn i2v::store::Store>> {
        let pool = i2v::store::PoolSettings {
            max_connections: 4,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
        };
        Ok(i2v::store::open(self.config.database_url().expose_secret(), &pool).await?)
    }
}

async fn campaign(args: &CrashArgs, seed: u64, setup: &Setup) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let image_url = fixtures::spawn_image_host().await?;
    let receiver = fixtures::spawn_receiver(7).await?;
    let mut server = Server::new(setup.serve_args.clone(), setup.log.clone())?;
    server.start().await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let accounts = create_accounts(&http, &server.base, &receiver).await?;
    let load = Arc::new(Load {
        base: server.base.clone(),
        image_url,
        receiver: receiver.clone(),
        accounts: accounts.clone(),
        record: Arc::new(Mutex::new(load::Record::default())),
        http,
    });
    let stop = CancellationToken::new();
    let clients: Vec<_> = (0..args.clients)
        .map(|n| {
            tokio::spawn(
                load.clone()
                    .client(seed.wrapping_add(n as u64 + 1), stop.clone()),
            )
        })
        .collect();
    let operator = tokio::spawn(load.clone().operator(seed.rotate_left(17), stop.clone()));

    for kill in 1..=args.kills {
        let uptime = rng.random_range(args.min_uptime_ms..=args.max_uptime_ms);
        tokio::time::sleep(Duration::from_millis(uptime)).await;
        server.kill().await?;
        let round = format!("kill {kill}");
        let store = setup.open_store().await?;
        Audit::take(store.as_ref(), &accounts, &load.record)
            .always(&round, &mut tally)
            .await;
        drop(store);
        let (answered, unanswered) = {
            let r = load.record.lock().unwrap();
            (r.answered, r.unanswered)
        };
        println!(
            "{round}: after {uptime} ms up; {answered} answers, {unanswered} requests unanswered so far; {} failed checks",
            tally.failed()
        );
        server.start().await?;
    }

    stop.cancel();
    for client in clients {
        client.await?;
    }
    operator.await?;
    let store = setup.open_store().await?;
    let limit = Duration::from_secs(args.quiesce_timeout_secs);
    println!("load stopped; waiting for the server to finish its work");
    tally.check(
        "final",
        "the server finishes all work after the load stops",
        audit::wait_quiescent(store.as_ref(), limit).await,
    );
    tally.check(
        "final",
        "the server stops gracefully on SIGTERM",
        server.stop().await.map_err(|e| format!("{e:#}")),
    );
    let blobs = i2v::blobs::Blobs::open(&setup.config.blob_location()?)
        .context("cannot open the file storage")?;
    let received = receiver.received.lock().unwrap().clone();
    Audit::take(store.as_ref(), &accounts, &load.record)
        .quiescent(&blobs, &received, &mut tally)
        .await;
    let r = load.record.lock().unwrap();
    let finished = |status: i64| {
        received
            .statuses
            .values()
            .filter(|s| s.contains(&status))
            .count()
    };
    println!(
        "{} videos answered as created ({} rendered, {} failed), {} answered as deleted, {} requests answered, {} unanswered; \
         operator: {} clock advances, {} resets removing {} videos",
        r.created.len(),
        finished(3),
        finished(4),
        r.deleted.len(),
        r.answered,
        r.unanswered,
        r.clock_moves,
        r.resets,
        r.reset_gone.len(),
    );
    Ok(tally)
}

async fn create_accounts(
    http: &reqwest::Client,
    base: &str,
    receiver: &fixtures::Receiver,
) -> anyhow::Result<Vec<Account>> {
    let mut accounts = Vec::new();
    for (n, lifecycle) in lifecycles().into_iter().enumerate() {
        let mut body = json!({ "name": format!("crash-{n}"), "credits": GRANT });
        if let Some(lifecycle) = &lifecycle {
            body["lifecycle"] = lifecycle.clone();
        }
        let answer: Value = http
            .post(format!("{base}/_admin/v1/accounts"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let data = &answer["data"];
        let (Some(uid), Some(id), Some(secret)) = (
            data["uid"].as_i64(),
            data["clientId"].as_str(),
            data["clientSecret"].as_str(),
        ) else {
            bail!("account creation failed: {answer}");
        };
        receiver.register(uid, id, secret);
        let instant = lifecycle.as_ref().is_some_and(|l| l["mode"] == "instant");
        accounts.push(Account {
            uid,
            key: secret.to_owned(),
            lifecycle,
            instant,
        });
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_dir_is_removed_and_not_named_when_everything_passed() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        let said = dispose_of_dir(Some(temp), &dir, true);
        assert!(!dir.exists(), "{said}");
        assert!(!said.contains(&*dir.to_string_lossy()), "{said}");
    }

    #[test]
    fn a_temporary_dir_is_kept_and_named_when_something_failed() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        let said = dispose_of_dir(Some(temp), &dir, false);
        assert!(dir.is_dir(), "{said}");
        assert!(said.contains(&*dir.to_string_lossy()), "{said}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dir_given_with_dir_is_always_kept_and_named() {
        let given = tempfile::tempdir().unwrap();
        let said = dispose_of_dir(None, given.path(), true);
        assert!(given.path().is_dir(), "{said}");
        assert!(said.contains(&*given.path().to_string_lossy()), "{said}");
    }
}
