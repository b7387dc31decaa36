//! The server under test: `i2v serve` as a child process of this binary, always on the same
//! loopback port and data, killed with SIGKILL and started again.
//!
//! The child runs `i2v::cli::run()` (what `src/main.rs` runs), so the campaign tests the server as
//! built now: `cargo run -p i2v-campaign` does not rebuild a sibling `i2v` binary, and a stale
//! one would be tested silently.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// Set on the child to make it the server; the parent never reads it.
const ROLE_VAR: &str = "I2V_CAMPAIGN_CHILD";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs this process as the server when `I2V_CAMPAIGN_CHILD` says so; `None` for the campaign.
pub fn run_child_role(runtime: &tokio::runtime::Runtime) -> Option<ExitCode> {
    let role = std::env::var(ROLE_VAR).ok()?;
    Some(match role.as_str() {
        // The arguments are `serve ...`, parsed by the real CLI.
        "server" => runtime.block_on(i2v::cli::run()),
        other => {
            eprintln!("unknown {ROLE_VAR} {other:?}");
            ExitCode::FAILURE
        }
    })
}

pub struct Server {
    args: Vec<String>,
    pub base: String,
    log: PathBuf,
    child: Option<Child>,
    http: reqwest::Client,
}

impl Server {
    /// `serve_args` are everything after `serve` except `--listen` and `--public-url`.
    pub fn new(serve_args: Vec<String>, log: PathBuf) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listen = format!("127.0.0.1:{port}");
        let base = format!("http://{listen}");
        let mut args = vec!["serve".to_owned()];
        args.extend(serve_args);
        args.extend([
            "--listen".into(),
            listen,
            "--public-url".into(),
            base.clone(),
        ]);
        Ok(Server {
            args,
            base,
            log,
            child: None,
            http: reqwest::Client::new(),
        })
    }

    /// Starts the server and waits until `/readyz` answers 200.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("the server is already running");
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        let child = Command::new(std::env::current_exe()?)
            .args(&self.args)
            .env(ROLE_VAR, "server")
            .env("RUST_LOG", "i2v=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the server child")?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!(
                    "the server exited while starting ({status}); see {}",
                    self.log.display()
                );
            }
            let ready = self
                .http
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready within {START_TIMEOUT:?}; see {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, exactly like a power cut to the process.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("the server is not running");
        };
        child.kill().await.context("SIGKILL failed")?;
        Ok(())
    }

    /// SIGTERM and wait for a graceful exit; an error when it does not exit cleanly in time.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("the server is not running");
        };
        let pid = child.id().context("the server has no pid")?;
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        if !sent.success() {
            bail!("kill -TERM {pid} failed");
        }
        match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
            Ok(status) => match status? {
                status if status.success() => Ok(()),
                status => bail!("the server exited with {status} after SIGTERM"),
            },
            Err(_) => {
                let _ = child.kill().await;
                bail!("the server did not stop within {STOP_TIMEOUT:?} of SIGTERM")
            }
        }
    }
}
