//! The emulator controls (issue #12) under load: instant-mode creation through the Akool create
//! route, and seeding through `/_admin/v1/accounts/{uid}/seed`, on a real `i2v serve
//! --workers 0` child with the admin API on (SQLite and local files in a fresh temp dir).
//!
//! Beside instant creation the same creates run for an account in render mode (with no workers
//! they only queue), so the table shows what finishing a video at once adds to a create.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::Method;
use serde_json::{json, Value};

use crate::http::{load_average, CREATE_PATH, RESULTS_PATH};
use crate::load::{self, Auth, Expect, HttpCall, HttpLane, Tally, Work};
use crate::report::thousands;
use crate::server::Child;

/// Nothing here takes near this long; it only makes a hung server end the run.
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// Enough for every create of the run several times over.
const CREDITS: i64 = 1_000_000_000;
/// Server log warnings shown at the end.
const LOG_LINES: usize = 5;
/// Seed shape: status 3 every other record, 1, 2 and 4 in between.
const MIXED_STATUSES: [i64; 6] = [3, 1, 3, 2, 3, 4];

#[derive(clap::Args, Clone)]
pub struct EmulatorArgs {
    /// Concurrent clients creating videos (one keep-alive connection each).
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Creates per client.
    #[arg(long, default_value_t = 250)]
    creates: usize,
    /// Seed calls of the mixed shape.
    #[arg(long, default_value_t = 10)]
    seed_calls: usize,
    /// Records per mixed seed call.
    #[arg(long, default_value_t = 1_000)]
    seed_records: usize,
    /// Records of the one all-finished seed call (at most 10,000, the route's cap).
    #[arg(long, default_value_t = 10_000)]
    big_seed: usize,
}

/// One row of the table: what ran and how fast.
struct Case {
    name: String,
    records_per_call: usize,
    tally: Tally,
    server_cpu: Duration,
}

pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    ensure!(
        args.clients > 0 && args.creates > 0 && args.seed_calls > 0,
        "--clients, --creates and --seed-calls must be positive"
    );
    ensure!(
        (1..=10_000).contains(&args.seed_records) && (1..=10_000).contains(&args.big_seed),
        "seed calls take 1 to 10,000 records"
    );
    let before = load_average();
    let scratch = tempfile::tempdir()?;
    let started = Instant::now();
    let outcome = tokio::time::timeout(RUN_LIMIT, measure(&args, scratch.path()))
        .await
        .with_context(|| format!("the emulator bench did not finish within {RUN_LIMIT:?}"))??;
    println!("## Emulator: instant creation and seeding");
    println!();
    println!("load average before the run: {before}");
    println!("load average after the run:  {}", load_average());
    println!(
        "whole run {:.1} s; data dir at the end {:.1} MiB ({} files)",
        started.elapsed().as_secs_f64(),
        outcome.disk_bytes as f64 / (1024.0 * 1024.0),
        outcome.files
    );
    println!(
        "first instant create (encodes the 720p 5 s clip): {:.1} ms",
        outcome.first_create.as_secs_f64() * 1000.0
    );
    println!();
    print_table(&outcome.cases);
    if !outcome.log_problems.is_empty() {
        println!();
        println!("server log warnings and errors:");
        for line in &outcome.log_problems {
            println!("    {line}");
        }
    }
    // The server was stopped before; its files go now.
    let removing = Instant::now();
    scratch.close()?;
    eprintln!(
        "emulator: temp data dir removed in {:.1} s",
        removing.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Outcome {
    cases: Vec<Case>,
    first_create: Duration,
    disk_bytes: u64,
    files: u64,
    /// The server log's WARN and ERROR lines (at most `LOG_LINES`, then a count).
    log_problems: Vec<String>,
}

async fn measure(args: &EmulatorArgs, dir: &Path) -> anyhow::Result<Outcome> {
    let token = format!("i2v-bench-admin-{:016x}", rand_u64());
    let server = Child::i2v(dir, None, Some(&token)).await?;
    let admin = Admin::new(server.addr, &token)?;
    let deadline = Instant::now() + RUN_LIMIT;
    let mut cases = Vec::new();

    let instant = admin
        .account("bench-instant", json!({ "mode": "instant" }))
        .await?;
    let render = admin
        .account("bench-render", json!({ "mode": "render" }))
        .await?;
    let create = || HttpCall {
        method: Method::POST,
        path: CREATE_PATH.to_owned(),
        auth: Some(Auth::ApiKey(instant.api_key.clone())),
        body: Bytes::from(create_body().to_string()),
    };

    // The first instant create encodes the clip every later one reuses: timed on its own.
    eprintln!("emulator: first instant create ...");
    let lanes = HttpLane::open(server.addr, 1, Expect::Status(3)).await?;
    let (_, first) = load::run(lanes, Work::once(vec![create()]), deadline).await?;
    ensure_clean("first instant create", &first)?;

    let total = args.clients * args.creates;
    eprintln!("emulator: {total} instant creates ...");
    let calls = (0..total).map(|_| create()).collect();
    let lanes = HttpLane::open(server.addr, args.clients, Expect::Status(3)).await?;
    cases.push(
        timed(
            &server,
            "createBySourcePrompt, instant mode (answer status 3)",
            1,
            lanes,
            calls,
            deadline,
        )
        .await?,
    );

    eprintln!("emulator: {total} render-mode creates (queued; no workers) ...");
    let calls = (0..total)
        .map(|_| HttpCall {
            auth: Some(Auth::ApiKey(render.api_key.clone())),
            ..create()
        })
        .collect();
    let lanes = HttpLane::open(server.addr, args.clients, Expect::Status(1)).await?;
    cases.push(
        timed(
            &server,
            "createBySourcePrompt, render mode (queued, reference)",
            1,
            lanes,
            calls,
            deadline,
        )
        .await?,
    );

    eprintln!(
        "emulator: {} seed calls of {} mixed records ...",
        args.seed_calls, args.seed_records
    );
    let mixed = seed_body((0..args.seed_records).map(|i| MIXED_STATUSES[i % MIXED_STATUSES.len()]));
    let calls = (0..args.seed_calls)
        .map(|_| admin.seed_call(instant.uid, mixed.clone()))
        .collect();
    let lanes = HttpLane::open(server.addr, 1, Expect::Ids(args.seed_records)).await?;
    cases.push(
        timed(
            &server,
            "seed, statuses 1-4 (3 in half)",
            args.seed_records,
            lanes,
            calls,
            deadline,
        )
        .await?,
    );

    eprintln!(
        "emulator: one seed call of {} finished records ...",
        args.big_seed
    );
    let finished = seed_body((0..args.big_seed).map(|_| 3));
    let calls = vec![admin.seed_call(instant.uid, finished)];
    let lanes = HttpLane::open(server.addr, 1, Expect::Ids(args.big_seed)).await?;
    cases.push(
        timed(
            &server,
            "seed, all status 3",
            args.big_seed,
            lanes,
            calls,
            deadline,
        )
        .await?,
    );

    admin
        .check_seeded_statuses(&instant, args.seed_records)
        .await?;
    server.stop().await?;
    let (disk_bytes, files) = disk_use(dir)?;
    Ok(Outcome {
        cases,
        first_create: Duration::from_secs_f64(first.percentile_ms(1.0) / 1000.0),
        disk_bytes,
        files,
        log_problems: log_problems(&dir.join("server.log")),
    })
}

/// Runs `calls` over `lanes` once, with the server's CPU time over the run.
async fn timed(
    server: &Child,
    name: &str,
    records_per_call: usize,
    lanes: Vec<HttpLane>,
    calls: Vec<HttpCall>,
    deadline: Instant,
) -> anyhow::Result<Case> {
    let expected = calls.len() as u64;
    let cpu_before = server.cpu_time()?;
    let (_, tally) = load::run(lanes, Work::once(calls), deadline).await?;
    let server_cpu = server.cpu_time()?.saturating_sub(cpu_before);
    if let Some(first) = &tally.first_error {
        eprintln!("{name}: {} failed calls, first: {first}", tally.errors);
    }
    ensure!(
        tally.calls == expected,
        "{name}: {} of {expected} calls made before the time limit",
        tally.calls
    );
    Ok(Case {
        name: name.to_owned(),
        records_per_call,
        tally,
        server_cpu,
    })
}

fn ensure_clean(name: &str, tally: &Tally) -> anyhow::Result<()> {
    ensure!(
        tally.errors == 0,
        "{name} failed: {}",
        tally.first_error.as_deref().unwrap_or("?")
    );
    Ok(())
}

fn print_table(cases: &[Case]) {
    println!("| case | records per call | calls | records/s | p50 ms/call | p99 ms/call | errors | server CPU µs/record |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for c in cases {
        let records = c.tally.calls as f64 * c.records_per_call as f64;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {} | {:.0} |",
            c.name,
            thousands(c.records_per_call as f64),
            c.tally.calls,
            thousands(c.tally.per_second() * c.records_per_call as f64),
            c.tally.percentile_ms(0.50),
            c.tally.percentile_ms(0.99),
            c.tally.errors,
            c.server_cpu.as_secs_f64() * 1e6 / records.max(1.0),
        );
    }
}

/// The create body: the image is never fetched in instant mode (nor queued in render mode).
fn create_body() -> Value {
    json!({
        "image_url": "https://example.com/a.png",
        "prompt": "bench",
        "resolution": "720p",
        "video_length": 5,
        "audio_type": 3
    })
}

fn seed_body(statuses: impl Iterator<Item = i64>) -> Bytes {
    let videos: Vec<Value> = statuses.map(|s| json!({ "status": s })).collect();
    Bytes::from(json!({ "videos": videos }).to_string())
}

/// An account made through the admin API.
struct Account {
    uid: i64,
    api_key: HeaderValue,
}

/// Setup and check calls to the admin API (untimed).
struct Admin {
    base: String,
    bearer: HeaderValue,
    client: reqwest::Client,
}

impl Admin {
    fn new(addr: SocketAddr, token: &str) -> anyhow::Result<Admin> {
        Ok(Admin {
            base: format!("http://{addr}"),
            bearer: HeaderValue::from_str(&format!("Bearer {token}"))?,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        })
    }

    async fn account(&self, name: &str, lifecycle: Value) -> anyhow::Result<Account> {
        let body = json!({ "name": name, "credits": CREDITS, "lifecycle": lifecycle });
        let data = self
            .post("/_admin/v1/accounts", &self.auth(), body.to_string())
            .await?;
        let uid = data["uid"].as_i64().context("no uid in the account")?;
        let secret = data["clientSecret"]
            .as_str()
            .context("no clientSecret in the account")?;
        Ok(Account {
            uid,
            api_key: HeaderValue::from_str(secret)?,
        })
    }

    fn auth(&self) -> Auth {
        Auth::Admin(self.bearer.clone())
    }

    fn seed_call(&self, uid: i64, body: Bytes) -> HttpCall {
        HttpCall {
            method: Method::POST,
            path: format!("/_admin/v1/accounts/{uid}/seed"),
            auth: Some(self.auth()),
            body,
        }
    }

    /// Reads back the first records of the last mixed seed call, to check they show the statuses
    /// they were seeded with.
    async fn check_seeded_statuses(
        &self,
        account: &Account,
        per_call: usize,
    ) -> anyhow::Result<()> {
        let n = per_call.min(MIXED_STATUSES.len());
        let body = seed_body(MIXED_STATUSES[..n].iter().copied());
        let data = self
            .post(
                &format!("/_admin/v1/accounts/{}/seed", account.uid),
                &self.auth(),
                body,
            )
            .await?;
        let ids: Vec<&str> = data["ids"]
            .as_array()
            .context("no ids")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let query = json!({ "_ids": ids.join(",") }).to_string();
        let data = self
            .post(RESULTS_PATH, &Auth::ApiKey(account.api_key.clone()), query)
            .await?;
        let statuses: Vec<i64> = data["result"]
            .as_array()
            .context("no result")?
            .iter()
            .filter_map(|r| r["status"].as_i64())
            .collect();
        ensure!(
            statuses == MIXED_STATUSES[..n],
            "seeded statuses {:?} read back as {statuses:?}",
            &MIXED_STATUSES[..n]
        );
        Ok(())
    }

    /// POSTs `body`; returns `data` of a `code` 1000 answer.
    async fn post(
        &self,
        path: &str,
        auth: &Auth,
        body: impl Into<reqwest::Body>,
    ) -> anyhow::Result<Value> {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        let request = match auth {
            Auth::ApiKey(key) => request.header("x-api-key", key.clone()),
            Auth::Admin(bearer) => request.header("authorization", bearer.clone()),
        };
        let answer = request.send().await?;
        let status = answer.status();
        let bytes = answer.bytes().await?;
        let value: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{path}: HTTP {status}, not JSON"))?;
        ensure!(
            value["code"] == 1000,
            "{path}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(value["data"].clone())
    }
}

/// A failed emulated step does not fail its create (the answer just shows an earlier status), so
/// the log is where such a step's reason is.
fn log_problems(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    let mut out: Vec<String> = problems
        .iter()
        .take(LOG_LINES)
        .map(|l| l.chars().take(600).collect())
        .collect();
    if problems.len() > LOG_LINES {
        out.push(format!("... {} lines in all", problems.len()));
    }
    out
}

/// Bytes and files under `dir` (the database and every output file).
fn disk_use(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                bytes += meta.len();
                files += 1;
            }
        }
    }
    Ok((bytes, files))
}

/// Enough randomness for a throwaway token on a loopback server (no extra crate).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}
