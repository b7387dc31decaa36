//! The processes under load, each a child of this binary on its own loopback port.
//!
//! The i2v child runs `i2v::cli::run()` (exactly what `src/main.rs` runs, on the same default
//! runtime) with `serve --workers 0`, so the figures are those of `i2v serve` as built now:
//! `cargo run -p i2v-bench` does not rebuild `target/release/i2v`, and a stale sibling binary
//! would be measured silently. A separate process keeps the server's runtime and threads apart
//! from the load generator's and lets us read the server's resident memory from /proc. The bare
//! hello reference runs the same way, so both sides of every ratio are set up alike.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::routing::get;
use axum::Router;

/// Set on a child to pick its role; the parent never reads it.
const ROLE_VAR: &str = "I2V_BENCH_CHILD";
/// The address the hello child listens on.
const LISTEN_VAR: &str = "I2V_BENCH_LISTEN";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// `getconf CLK_TCK`: 100 on every Linux we run on.
const CLOCK_TICKS_PER_SEC: u64 = 100;

/// Runs this process as a child role when `I2V_BENCH_CHILD` says so; `None` for the benchmark.
pub fn run_child_role(runtime: &tokio::runtime::Runtime) -> Option<ExitCode> {
    let role = std::env::var(ROLE_VAR).ok()?;
    Some(match role.as_str() {
        // The arguments are `serve ...`, parsed by the real CLI.
        "server" => runtime.block_on(i2v::cli::run()),
        "hello" => match runtime.block_on(hello()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hello server: {e:#}");
                ExitCode::FAILURE
            }
        },
        other => {
            eprintln!("unknown {ROLE_VAR} {other:?}");
            ExitCode::FAILURE
        }
    })
}

/// The physical limit of axum on this machine: one route, a static body, no middleware.
async fn hello() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::var(LISTEN_VAR)?.parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    axum::serve(listener, app).await?;
    Ok(())
}

/// Resident memory of a child, from /proc/<pid>/status.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

pub struct Child {
    process: tokio::process::Child,
    pub addr: SocketAddr,
    log: PathBuf,
    /// The store is PostgreSQL, whose CPU time `store_cpu_time` reads.
    on_postgres: bool,
}

impl Child {
    /// `i2v serve` on a fresh port with no render workers, logging to `<dir>/server.log`;
    /// `admin_token` turns on /_admin/v1.
    pub async fn i2v(
        data_dir: &Path,
        database_url: Option<&str>,
        admin_token: Option<&str>,
    ) -> anyhow::Result<Child> {
        Child::i2v_with(data_dir, database_url, admin_token, &[]).await
    }

    /// `i2v` with these extra environment variables (settings such as `I2V_JOURNAL__ENABLED`).
    pub async fn i2v_with(
        data_dir: &Path,
        database_url: Option<&str>,
        admin_token: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Child> {
        let addr = free_port()?;
        let mut args = vec![
            "serve".to_owned(),
            "--data-dir".to_owned(),
            data_dir.display().to_string(),
            "--listen".to_owned(),
            addr.to_string(),
            "--workers".to_owned(),
            "0".to_owned(),
        ];
        if let Some(url) = database_url {
            args.extend(["--database-url".to_owned(), url.to_owned()]);
        }
        if let Some(token) = admin_token {
            args.extend(["--admin-token".to_owned(), token.to_owned()]);
        }
        let log = data_dir.join("server.log");
        let mut child = Child::start("server", addr, &args, env, log, "/healthz").await?;
        child.on_postgres = database_url.is_some_and(|u| u.starts_with("postgres"));
        Ok(child)
    }

    /// The bare axum hello server, logging to `<dir>/hello.log`.
    pub async fn hello(dir: &Path) -> anyhow::Result<Child> {
        let addr = free_port()?;
        Child::start("hello", addr, &[], &[], dir.join("hello.log"), "/").await
    }

    async fn start(
        role: &str,
        addr: SocketAddr,
        args: &[String],
        env: &[(&str, &str)],
        log: PathBuf,
        ready_path: &str,
    ) -> anyhow::Result<Child> {
        let exe = std::env::current_exe().context("finding the bench binary")?;
        let stderr = std::fs::File::create(&log)?;
        let process = tokio::process::Command::new(exe)
            .args(args)
            .env(ROLE_VAR, role)
            .env(LISTEN_VAR, addr.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {role} child"))?;
        let mut child = Child {
            process,
            addr,
            log,
            on_postgres: false,
        };
        child.wait_ready(ready_path).await?;
        Ok(child)
    }

    async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        let url = format!("http://{}{path}", self.addr);
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = self.process.try_wait()? {
                bail!(
                    "the child exited ({status}) before answering:\n{}",
                    self.log_tail()
                );
            }
            let answered = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if matches!(answered, Ok(r) if r.status().is_success()) {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "no answer from {url} within {START_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        let pid = self.process.id().context("the child has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .with_context(|| format!("{name} missing from /proc/{pid}/status"))?;
            Ok(line.trim().trim_end_matches("kB").trim().parse()?)
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }

    /// CPU time the child has used so far, all threads, user + system (from /proc/<pid>/stat).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let pid = self.process.id().context("the child has exited")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let (_, cpu) = parse_stat(&stat).context("odd /proc/<pid>/stat")?;
        Ok(cpu)
    }

    /// CPU time of the server's store so far, when it runs in processes of its own (PostgreSQL);
    /// SQLite's share is in `cpu_time`.
    pub fn store_cpu_time(&self) -> anyhow::Result<Option<Duration>> {
        self.on_postgres.then(postgres_cpu_time).transpose()
    }

    /// Stops the child (its data dir is thrown away, so no graceful shutdown is needed).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.process.kill().await?;
        Ok(())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The command name and CPU time (user + system) of a `/proc/<pid>/stat` line.
fn parse_stat(stat: &str) -> Option<(&str, Duration)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let mut fields = rest.split_whitespace().skip(11);
    let ticks = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    Some((
        name,
        Duration::from_millis(ticks * 1000 / CLOCK_TICKS_PER_SEC),
    ))
}

/// CPU time used so far by every PostgreSQL process on this machine (backends, WAL writer,
/// checkpointer, autovacuum): what the store costs a case, when the bench's PostgreSQL is the only
/// cluster busy. A backend that exits between two readings takes its time with it, so a case
/// compares readings taken while its server's connections stay open.
pub fn postgres_cpu_time() -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for entry in std::fs::read_dir("/proc")? {
        let path = entry?.path();
        let is_pid = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        // A process may exit between the listing and the read: it is simply not counted.
        let Some(stat) = is_pid
            .then(|| std::fs::read_to_string(path.join("stat")).ok())
            .flatten()
        else {
            continue;
        };
        if let Some(("postgres", cpu)) = parse_stat(&stat) {
            total += cpu;
        }
    }
    Ok(total)
}

/// A loopback port that was free a moment ago (the child binds it right away).
fn free_port() -> anyhow::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(probe.local_addr()?)
}
