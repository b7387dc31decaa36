//! The real `i2v` binary: CLI contract, env/flag configuration, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_i2v");

/// Kills the server if a test fails before stopping it, so no process outlives the test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn i2v(args: &[&str], data_dir: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("I2V_DATA_DIR", data_dir)
        .env_remove("I2V_ADMIN_TOKEN")
        .env_remove("I2V_LISTEN")
        .output()
        .expect("i2v runs")
}

#[tokio::test]
async fn accounts_create_prints_credentials_that_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = i2v(
        &[
            "accounts",
            "create",
            "--name",
            "cli user",
            "--credits",
            "77",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    for field in ["uid", "team_id", "clientId", "clientSecret", "credits"] {
        assert!(created.get(field).is_some(), "{field} missing: {created}");
    }
    assert_eq!(created["credits"], 77);
    let key = created["clientSecret"].as_str().unwrap().to_owned();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&key),
        "the secret is never logged"
    );

    // Serve on a random loopback port, chosen through the env var.
    let mut server = KillOnDrop(
        Command::new(BIN)
            .args(["serve", "--workers", "0"])
            .env("I2V_DATA_DIR", dir.path())
            .env("I2V_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = server.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("server starts");
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let client = reqwest::Client::new();
    let quota: Value = client
        .get(format!("http://{addr}/api/open/v3/faceswap/quota/info"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(quota["data"]["credit"], 77);
    // Admin API is off without a token.
    let admin = client
        .post(format!("http://{addr}/_admin/v1/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 404);

    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

#[test]
fn config_print_layers_file_env_and_flags_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("i2v.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9001\"\nworkers = 5\n[limits]\nids_per_call = 50\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "config",
            "print",
            "--config",
            file.to_str().unwrap(),
            "--workers",
            "2",
        ])
        .env("I2V_DATA_DIR", dir.path())
        .env("I2V_ADMIN_TOKEN", "a-very-secret-admin-token")
        .env("I2V_PUBLIC_URL", "https://videos.example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let printed: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        printed["listen"].as_str(),
        Some("127.0.0.1:9001"),
        "from the file"
    );
    assert_eq!(
        printed["workers"].as_integer(),
        Some(2),
        "the flag beats the file"
    );
    assert_eq!(
        printed["public_url"].as_str(),
        Some("https://videos.example.com"),
        "from env"
    );
    assert_eq!(printed["limits"]["ids_per_call"].as_integer(), Some(50));
    assert_eq!(printed["admin_token"].as_str(), Some("<redacted>"));
    assert!(!text.contains("a-very-secret-admin-token"));
    let origin = |start: &str| {
        let line = text.lines().find(|l| l.starts_with(start)).unwrap();
        line.rsplit_once("# ").unwrap().1.to_owned()
    };
    assert_eq!(origin("listen = "), format!("file {}", file.display()));
    assert_eq!(origin("workers = "), "flag --workers");
    assert_eq!(origin("public_url = "), "env I2V_PUBLIC_URL");
    assert_eq!(origin("admin_token = "), "env I2V_ADMIN_TOKEN");
    assert_eq!(origin("fps = "), "default");
}

#[test]
fn every_setting_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("i2v.toml");
    std::fs::write(&file, "[webhooks]\nbackoff_base_ms = 5000\n").unwrap();
    let print = |env: &[(&str, &str)], flags: &[&str]| {
        let mut command = Command::new(BIN);
        command
            .args(["config", "print", "--config", file.to_str().unwrap()])
            .args(flags)
            .env("I2V_DATA_DIR", dir.path())
            .env_remove("I2V_ADMIN_TOKEN")
            .env_remove("I2V_WORKERS");
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let out = print(
        &[
            ("I2V_WEBHOOKS__BACKOFF_BASE_MS", "1000"),
            ("I2V_JOBS__MAX_IN_FLIGHT_PER_ACCOUNT", "2"),
            ("I2V_WORKERS", "3"),
        ],
        &["--workers", "4"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let printed: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        printed["webhooks"]["backoff_base_ms"].as_integer(),
        Some(1000),
        "env beats the file"
    );
    assert_eq!(
        printed["jobs"]["max_in_flight_per_account"].as_integer(),
        Some(2)
    );
    assert_eq!(printed["workers"].as_integer(), Some(4), "a flag beats env");
    assert!(
        text.contains("# env I2V_WEBHOOKS__BACKOFF_BASE_MS"),
        "{text}"
    );

    let out = print(&[("I2V_WEBHOOKS__BACKOFF_BASE_MS", "soon")], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("I2V_WEBHOOKS__BACKOFF_BASE_MS")
            && stderr.contains("webhooks.backoff_base_ms"),
        "{stderr}"
    );
}

#[test]
fn bad_configuration_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("i2v.toml");
    std::fs::write(&file, "no_such_key = 1\n").unwrap();
    let out = i2v(
        &["config", "print", "--config", file.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_key"));
    let out = i2v(&["serve", "--admin-token", "short"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin_token"));
}
