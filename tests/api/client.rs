//! `i2v client` (issue #16): the real binary against a server spawned here. A 5,000-id delete
//! through injected faults, killed halfway and resumed with --state; --wait-processing; the
//! non-terminal progress, the human summary and --json; create, results and downloads; the
//! one-request verbs and the errors that end a run.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::chaos::{DELETE, RESULTS};
use crate::emulator::data_of;
use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_i2v");

/// `i2v client ARGS` against `app` with `key`; the child is killed if the test fails first.
fn client(app: &TestApp, key: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("client")
        .args(args)
        .env("AKOOL_API_HOST", &app.base)
        .env("AKOOL_API_KEY", key)
        .env_remove("AKOOL_CLIENT_ID")
        .env_remove("AKOOL_CLIENT_SECRET")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn run(command: &mut Command) -> (i32, String, String) {
    let out: Output = command.output().await.expect("i2v client runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn seed(app: &TestApp, account: &Account, statuses: &[i64]) -> Vec<String> {
    let videos: Vec<Value> = statuses.iter().map(|s| json!({"status": s})).collect();
    let data = data_of("seed", app.seed(account, json!(videos)).await);
    ids_of(&data["ids"])
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect()
}

/// The final outcomes a --state file holds.
fn state_outcomes(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut outcomes = HashMap::new();
    for line in text.lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            if let (Some(id), Some(o)) = (v["id"].as_str(), v["outcome"].as_str()) {
                outcomes.insert(id.to_owned(), o.to_owned());
            }
        }
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5000_id_delete_through_faults_killed_halfway_and_resumed_deletes_each_video_once() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let ids = seed(&app, &me, &[4; 5000]).await;
    let dir = tempfile::tempdir().unwrap();
    let ids_file = dir.path().join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();
    let state = dir.path().join("state.jsonl");
    let faults = |first: Value| {
        json!({"seed": 7, "rules": [
            {"route": "delbyids", "next": 1, "effect": first},
            {"route": "delbyids", "next": 1, "effect": {"drop": "before"}},
            {"route": "delbyids", "next": 1, "effect": {"code": 2001}},
            {"route": "delbyids", "next": 1, "effect": {"http_status": 503}},
            {"route": "delbyids", "probability": 0.05, "effect": {"drop": "after"}},
            {"route": "delbyids", "probability": 0.05, "effect": {"http_status": 502}},
            {"route": "delbyids", "probability": 0.4, "effect": {"delay_ms": 200}},
        ]})
    };
    app.set_faults(&me, faults(json!({"drop": "after"}))).await;
    let (ids_arg, state_arg) = (ids_file.to_str().unwrap(), state.to_str().unwrap());
    let args = [
        "delete",
        "--ids-file",
        ids_arg,
        "--state",
        state_arg,
        "--jobs",
        "4",
        "--batch-size",
        "100",
        "--retry-delay-ms",
        "20",
        "--json",
    ];

    // First run: killed (SIGKILL) once at least 1,500 outcomes are on disk.
    let mut first = client(&app, &me.key, &args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before it could be killed"
        );
        if state_outcomes(&state).len() >= 1500 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress in the state file");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().await.unwrap();
    let done_before = state_outcomes(&state);
    assert!(
        done_before.len() < ids.len(),
        "killed halfway: {} of {} known",
        done_before.len(),
        ids.len()
    );

    // Second run: resumes from the state, through faults again (a lost answer first).
    app.set_faults(&me, faults(json!({"drop": "after"}))).await;
    let mut args = args.to_vec();
    args.extend(["--progress-every", "0.2"]);
    let started = Instant::now();
    let (code, stdout, stderr) = run(&mut client(&app, &me.key, &args)).await;
    let took = started.elapsed();
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");

    // --json: one line per id, then the summary.
    let lines = json_lines(&stdout);
    let (summary, outcomes) = lines.split_last().unwrap();
    assert_eq!(outcomes.len(), ids.len(), "one line per id");
    let seen: HashSet<&str> = outcomes.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(seen, ids.iter().map(String::as_str).collect::<HashSet<_>>());
    assert!(
        outcomes.iter().all(|l| l["outcome"] == "deleted"),
        "{stdout}"
    );
    let earlier = outcomes.iter().filter(|l| l["earlier"] == true).count();
    let s = &summary["summary"];
    assert_eq!(
        (
            &s["total"],
            &s["deleted"],
            &s["not_found"],
            &s["processing"],
            &s["failed"]
        ),
        (&json!(5000), &json!(5000), &json!(0), &json!(0), &json!(0)),
        "{summary}"
    );
    assert_eq!(s["earlier"], json!(earlier));
    assert!(
        (1500..5000).contains(&earlier),
        "{earlier} known from the state"
    );
    assert!(
        s["deleted_on_retry"].as_u64().unwrap() >= 100,
        "the lost answer's batch: {s}"
    );
    assert!(s["retries"].as_u64().unwrap() >= 4, "{s}");

    // Not a terminal: plain progress lines on stderr, the last one complete.
    assert!(stderr.contains("delete: 5000 to do ("), "{stderr}");
    assert!(stderr.contains("delete: 5000/5000 (100%)"), "{stderr}");
    assert!(!stderr.contains(&me.key), "the key is never printed");

    // The server's side: every video gone, 100 ids a call, and no id deleted twice. A delete
    // the killed run had in flight may have committed without being journaled (its connection
    // closed first): those ids, and only those, are missing from the journal's successIds,
    // and the resumed run counted them as deleted on retry.
    assert!(app.records(&me, &ids).await.is_empty());
    let journal = app
        .journal(&format!("uid={}&path={DELETE}&limit=1000", me.uid))
        .await;
    let mut deleted: HashMap<String, usize> = HashMap::new();
    for entry in &journal {
        let sent = entry["request_body"]["_ids"].as_str().unwrap();
        assert!(sent.split(',').count() <= 100, "{sent}");
        let answer = &entry["response_body"];
        if answer["code"] == 1000 {
            for id in ids_of(&answer["data"]["successIds"]) {
                *deleted.entry(id).or_default() += 1;
            }
        }
    }
    assert!(deleted.values().all(|n| *n == 1), "no id deleted twice");
    let on_retry: HashSet<&str> = outcomes
        .iter()
        .filter(|l| l["on_retry"] == true)
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    let unjournaled: Vec<&String> = ids.iter().filter(|id| !deleted.contains_key(*id)).collect();
    assert!(
        unjournaled.iter().all(|id| on_retry.contains(id.as_str())),
        "{} ids deleted by no journaled call, not all counted on retry",
        unjournaled.len()
    );
    let faults: HashSet<String> = journal
        .iter()
        .filter(|e| !e["fault"].is_null())
        .map(|e| e["fault"].to_string())
        .collect();
    for fault in [
        r#"{"drop":"after"}"#,
        r#"{"drop":"before"}"#,
        r#"{"code":2001}"#,
        r#"{"http_status":503}"#,
    ] {
        assert!(faults.contains(fault), "{fault} was injected: {faults:?}");
    }
    eprintln!(
        "resumed delete: {} ids in {took:?} ({} ids/s by the client's count)",
        5000 - earlier,
        s["ids_per_s"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_processing_deletes_videos_that_were_processing_when_it_started() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let ids = seed(&app, &me, &[4, 4, 1, 2, 2]).await;
    let held = &ids[3..];

    // Without --wait-processing: refused, reported, exit code 1.
    let (code, stdout, stderr) =
        run(&mut client(&app, &me.key, &["delete", &held.join(",")])).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("deleted: 0\n"), "{stdout}");
    assert!(stdout.contains("still processing: 2\n"), "{stdout}");
    assert!(
        stderr.contains(&format!("still processing {}", held[0])),
        "{stderr}"
    );

    // With it, from stdin (a pipeline), plus an id that never existed.
    let unknown = "0123456789abcdef01234567";
    let mut child = client(
        &app,
        &me.key,
        &["delete", "-", "--wait-processing", "--poll-interval", "0.1"],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n{unknown}\n", ids.join("\n")).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    // Once it polls, the held videos finish.
    let deadline = Instant::now() + Duration::from_secs(20);
    while app
        .journal(&format!("uid={}&path={RESULTS}", me.uid))
        .await
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the client never polled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for id in held {
        app.advance_video(id).await;
    }
    let out = child.wait_with_output().await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("deleted: 5\nnot found: 1\nstill processing: 0\nfailed: 0\n"),
        "{stdout}"
    );
    assert!(app.records(&me, &ids).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_results_and_download_then_the_small_verbs() {
    let app = spawn_app().await;
    let me = app.create_account(1000).await;
    app.set_lifecycle(&me, json!({"mode": "instant"})).await;
    let dir = tempfile::tempdir().unwrap();
    let ids_out = dir.path().join("ids.txt");
    let ids_arg = ids_out.to_str().unwrap();

    let (code, stdout, stderr) = run(&mut client(
        &app,
        &me.key,
        &[
            "create",
            "--image-url",
            "https://example.com/in/beach.png",
            "--prompt",
            "waves",
            "--wait",
            "--poll-interval",
            "0.1",
            "--ids-out",
            ids_arg,
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("\tcompleted\thttp"), "{stdout}");

    let csv = dir.path().join("videos.csv");
    std::fs::write(
        &csv,
        "image_url,prompt,resolution,video_length,audio_type\n\
         https://example.com/in/a.png,\"calm, slow waves\",720p,5,3\n\
         https://example.com/in/b.png,birds,1080p,10,3\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&mut client(
        &app,
        &me.key,
        &[
            "create",
            "--csv",
            csv.to_str().unwrap(),
            "--ids-out",
            ids_arg,
            "--json",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(json_lines(&stdout).len(), 2, "{stdout}");
    let ids: Vec<String> = std::fs::read_to_string(&ids_out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 3);

    // A download cut short resumes from its .part file.
    let videos = dir.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let url = app.record(&me, &ids[0]).await["video_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let whole = app.mp4_at(&url).await;
    std::fs::write(videos.join(format!("{}.mp4.part", ids[0])), &whole[..100]).unwrap();
    let download = [
        "results",
        "--ids-file",
        ids_arg,
        "--wait",
        "--poll-interval",
        "0.1",
        "--download",
        videos.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = run(&mut client(&app, &me.key, &download)).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    for id in &ids {
        let bytes = std::fs::read(videos.join(format!("{id}.mp4"))).unwrap();
        assert_eq!(&bytes[4..8], b"ftyp", "{id}");
    }
    assert_eq!(
        std::fs::read(videos.join(format!("{}.mp4", ids[0]))).unwrap(),
        whole
    );
    let (code, stdout, _) = run(&mut client(&app, &me.key, &download)).await;
    assert_eq!(
        (code, stdout.matches("already there").count()),
        (0, 3),
        "{stdout}"
    );

    // models, effects, credits; the token from client id and secret, which also authenticates.
    for verb in ["models", "effects"] {
        let (code, stdout, stderr) = run(&mut client(&app, &me.key, &[verb])).await;
        assert!(
            code == 0 && !stdout.trim().is_empty(),
            "{verb}: {stdout}{stderr}"
        );
    }
    let (_, credits, _) = run(&mut client(&app, &me.key, &["credits"])).await;
    assert_eq!(credits.trim(), app.balance(&me).await.to_string());
    let mut token = client(&app, "", &["token"]);
    token
        .env("AKOOL_CLIENT_ID", &me.client_id)
        .env("AKOOL_CLIENT_SECRET", &me.key);
    let (code, stdout, stderr) = run(&mut token).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.trim().len() > 20 && !stderr.contains(&me.key),
        "{stdout}{stderr}"
    );
    let mut by_token = client(&app, "", &["credits", "--json"]);
    by_token.env_remove("AKOOL_API_KEY").args([
        "--client-id",
        me.client_id.as_str(),
        "--client-secret",
        me.key.as_str(),
    ]);
    let (code, stdout, stderr) = run(&mut by_token).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json_lines(&stdout)[0]["credit"], app.balance(&me).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_bans_no_credits_and_malformed_ids_end_the_run_clearly() {
    let app = spawn_app().await;
    let me = app.create_account(0).await;
    let id = seed(&app, &me, &[4]).await.remove(0);

    let (code, _, stderr) = run(&mut client(&app, "not-a-key", &["delete", &id])).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("code 1109") && !stderr.contains("not-a-key"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&mut client(
        &app,
        &me.key,
        &[
            "create",
            "--image-url",
            "https://example.com/in/a.png",
            "--prompt",
            "p",
        ],
    ))
    .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("code 1104"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ids.txt");
    std::fs::write(&file, format!("{id}\n\n{id}x\n")).unwrap();
    let (code, _, stderr) = run(&mut client(
        &app,
        &me.key,
        &["delete", "--ids-file", file.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ids.txt, line 3:"), "{stderr}");
    assert!(
        app.status_of(&me, &id).await.is_some(),
        "nothing was deleted"
    );

    let (status, body) = app
        .admin(&format!("/accounts/{}/ban", me.uid), json!({}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (code, _, stderr) = run(&mut client(&app, &me.key, &["delete", &id, "--json"])).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("code 1200"), "{stderr}");
    assert!(!stderr.contains(&me.key));
}
