//! `i2v-bench console`: the web console's pages with many videos in one account (#17 target: a
//! page listed in under 100 ms of server time with 100k videos). Seeds one account, starts
//! `i2v serve` as a child process, and times the fragment the console loads for each view (the
//! first page, a deep page, a status filter, a prompt search) and the JSON listing route, one
//! request at a time over loopback, so each time is the server's time plus a loopback round trip.

use std::time::{Duration, Instant};

use anyhow::ensure;
use clap::Args;

use crate::seed;
use crate::server::Child;

#[derive(Args)]
pub struct ConsoleArgs {
    /// Videos in the account.
    #[arg(long, default_value_t = 100_000)]
    pub videos: usize,
    /// Requests per view (after 5 warm-up requests).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// PostgreSQL URL instead of the embedded SQLite (its database is seeded and left as is).
    #[arg(long)]
    pub database_url: Option<String>,
}

pub async fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    ensure!(
        args.videos > 0 && args.requests > 0,
        "--videos and --requests must be positive"
    );
    let dir = tempfile::tempdir()?;
    let db = args.database_url.as_deref();
    let app = seed::open(dir.path(), db).await?;
    let tenant = seed::tenants(&app, 1).await?.remove(0);
    let started = Instant::now();
    let ids = seed::videos(&app, &tenant, args.videos).await?;
    println!(
        "seeded {} videos in one account in {:.1?}",
        ids.len(),
        started.elapsed()
    );
    drop(app);
    let server = Child::i2v(dir.path(), db, None).await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let key = tenant.api_key.to_str()?.to_owned();
    // A cursor half-way down: a deep page must cost what the first one does.
    let middle = ids[ids.len() / 2].to_hex();
    let views = [
        ("first page", "/console/fragments/videos".to_owned()),
        (
            "page half-way down",
            format!("/console/fragments/videos?cursor={middle}"),
        ),
        (
            "status = queued",
            "/console/fragments/videos?status=1".to_owned(),
        ),
        (
            "status = failed (none)",
            "/console/fragments/videos?status=4".to_owned(),
        ),
        (
            "prompt search, matches all",
            "/console/fragments/videos?q=waves".to_owned(),
        ),
        (
            "prompt search, matches none",
            "/console/fragments/videos?q=zebra".to_owned(),
        ),
        (
            "JSON listing, 100",
            "/api/i2v/v1/videos?limit=100".to_owned(),
        ),
    ];
    println!(
        "\n| view ({} videos in the account) | p50 | p99 | max | target p99 < 100 ms |",
        args.videos
    );
    println!("|---|---|---|---|---|");
    for (name, path) in views {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(args.requests);
        for n in 0..args.requests + 5 {
            let at = Instant::now();
            let response = client.get(&url).header("x-api-key", &key).send().await?;
            ensure!(
                response.status().is_success(),
                "{name}: HTTP {}",
                response.status()
            );
            let body = response.bytes().await?;
            // Fragments are HTML; an error is an Akool JSON answer with another code.
            if body.starts_with(b"{") {
                let answer: serde_json::Value = serde_json::from_slice(&body)?;
                ensure!(answer["code"] == 1000, "{name}: {answer}");
            }
            if n >= 5 {
                times.push(at.elapsed());
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let p99 = at(0.99);
        println!(
            "| {name} | {} | {} | {} | {} |",
            ms(at(0.5)),
            ms(p99),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            if p99 < Duration::from_millis(100) {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    server.stop().await?;
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
