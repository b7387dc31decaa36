//! `i2v migrate-store`: the real binary moves an embedded setup (SQLite + files) to PostgreSQL +
//! S3, and a server on the new setup answers the same API key with the same results.

use std::process::{Command, Output};

use i2v::clock::now_ms;
use i2v::store::{FaultKind, JournalEntry, JournalFilter};
use reqwest::StatusCode;
use serde_json::Value;

use crate::backends::{fresh_postgres_database, fresh_s3_bucket, require_services};
use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_i2v");

fn migrate_store(data_dir: &std::path::Path, database_url: &str, blob_url: &str) -> Output {
    Command::new(BIN)
        .args(["migrate-store", "--from-data-dir"])
        .arg(data_dir)
        .args(["--to-database-url", database_url, "--to-blob-url", blob_url])
        .env_remove("I2V_MASTER_KEY")
        .env_remove("I2V_DATA_DIR")
        .output()
        .expect("i2v runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn download(app: &TestApp, url: &str) -> bytes::Bytes {
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.bytes().await.unwrap()
}

#[tokio::test]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn migrate_store_moves_accounts_videos_and_files_to_postgres_and_s3() {
    require_services();
    // The source is always the embedded default, whatever I2V_TEST_BACKEND says.
    let mut source = spawn_with(|c| {
        c.database_url = None;
        c.blob_url = None;
    })
    .await;
    let me = source.create_account(1000).await;
    let finished = source.create_videos(&me, 3).await;
    source.drain_jobs().await;
    // One render in flight when the source stops, one still queued.
    let processing = source.create_video(&me).await;
    let claimed = source
        .app
        .store
        .claim_next("old-worker", now_ms(), now_ms() + 600_000)
        .await
        .unwrap()
        .expect("a queued video");
    assert_eq!(claimed.id.to_hex(), processing);
    let queued = source.create_video(&me).await;
    let deleted = finished[0].clone();
    source.delete(&me, &deleted).await;

    let kept: Vec<String> = finished[1..].iter().chain([&queued]).cloned().collect();
    let before = source.results(&me, &kept.join(",")).await;
    let mut files = Vec::new();
    for video in before["data"]["result"].as_array().unwrap() {
        if let Some(url) = video["video_url"].as_str().filter(|u| !u.is_empty()) {
            files.push((url.to_owned(), download(&source, url).await));
        }
    }
    assert_eq!(files.len(), 2, "{before}");
    let balance = source.balance(&me).await;
    let (_, account) = source.admin_get(&format!("/accounts/{}", me.uid)).await;
    // Fault rules and the request journal move too, ids and all.
    let faults = r#"{"seed":1,"draws":3,"rules":[]}"#;
    let store = &source.app.store;
    store
        .set_faults(me.uid, FaultKind::Webhook, Some(faults))
        .await
        .unwrap();
    let journaled = |uid| JournalEntry {
        id: 0,
        at_ms: 1,
        uid,
        method: "GET".into(),
        path: "/api/open/v3/content/video/resultsbyids".into(),
        query: "_ids=x".into(),
        request_body: String::new(),
        status: None,
        code: Some(1000),
        // Long enough that SQLite keeps it compressed: the copy must give PostgreSQL the text.
        response_body: format!(
            r#"{{"code":1000,"data":[{}]}}"#,
            r#"{"é":"x"},"#.repeat(200)
        ),
        latency_ms: 2,
        fault: Some(r#"{"drop":"after"}"#.into()),
    };
    store
        .append_requests(&[journaled(Some(me.uid)), journaled(None)], 100)
        .await
        .unwrap();
    let journal_filter = JournalFilter {
        limit: 1000,
        ..JournalFilter::default()
    };
    let journal = store.requests(&journal_filter).await.unwrap();
    source.stop().await;

    let database_url = fresh_postgres_database().await;
    let blob_url = format!("s3://{}/moved", fresh_s3_bucket().await);
    let master_key = std::fs::read_to_string(source.dir.path().join("master.key"))
        .unwrap()
        .trim()
        .to_owned();
    let out = migrate_store(source.dir.path(), &database_url, &blob_url);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    for line in [
        "accounts:            1\n",
        "videos:              4 (1 re-queued from processing)\n",
        "files:               2 copied",
        "files missing:       0\n",
        "master.key",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(
        !stdout.contains(&master_key) && !stderr.contains(&master_key),
        "the master key itself is never printed"
    );

    let target = spawn_with(|c| {
        c.database_url = Some(database_url.as_str().into());
        c.blob_url = Some(blob_url.as_str().into());
        c.master_key = Some(master_key.as_str().into());
    })
    .await;
    // The same API key works; results match except for the host in video_url.
    let after = target.results(&me, &kept.join(",")).await;
    let expected: Value =
        serde_json::from_str(&before.to_string().replace(&source.base, &target.base)).unwrap();
    assert_eq!(after, expected);
    for (url, bytes) in &files {
        let moved = url.replace(&source.base, &target.base);
        assert_eq!(&download(&target, &moved).await, bytes, "{moved}");
    }
    assert_eq!(target.status_of(&me, &deleted).await, None);
    assert_eq!(target.status_of(&me, &processing).await, Some(1));
    assert_eq!(target.balance(&me).await, balance);
    let (_, moved_account) = target.admin_get(&format!("/accounts/{}", me.uid)).await;
    assert_eq!(moved_account, account);
    let store = &target.app.store;
    assert_eq!(
        store.faults(me.uid, FaultKind::Webhook).await.unwrap(),
        Some(Some(faults.to_owned()))
    );
    assert_eq!(
        store.faults(me.uid, FaultKind::Api).await.unwrap(),
        Some(None)
    );
    let last_moved = journal[0].id;
    let moved_journal = store.requests(&journal_filter).await.unwrap();
    let moved_journal: Vec<_> = moved_journal
        .into_iter()
        .filter(|e| e.id <= last_moved)
        .collect();
    assert_eq!(moved_journal, journal);
    store
        .append_requests(&[journaled(None)], 100)
        .await
        .unwrap();
    assert!(store.requests(&journal_filter).await.unwrap()[0].id > last_moved);

    // The new setup carries on: the re-queued and queued videos render, new accounts number
    // after the old ones, deleting a moved video removes its object from the bucket.
    let rendered = target.drain_jobs().await;
    assert_eq!(rendered.len(), 2);
    assert_eq!(target.status_of(&me, &processing).await, Some(3));
    let newcomer = target.create_account(10).await;
    assert!(newcomer.uid > me.uid, "{} after {}", newcomer.uid, me.uid);
    let moved_key = files[0]
        .0
        .split("/files/")
        .nth(1)
        .expect("a proxied video_url")
        .to_owned();
    assert!(target.blob_keys().await.contains(&moved_key));
    let gone = target.delete(&me, &finished[1]).await;
    assert_eq!(gone["code"], 1000, "{gone}");
    i2v::outbox::sweep(target.app.store.as_ref(), &target.app.blobs)
        .await
        .unwrap();
    assert!(target.outbox_is_empty().await);
    assert!(!target.blob_keys().await.contains(&moved_key));
    assert_eq!(target.status_of(&me, &finished[1]).await, None);

    // A second run would duplicate everything: refused, with the reason.
    let again = migrate_store(source.dir.path(), &database_url, &blob_url);
    assert!(!again.status.success());
    let said = text(&again.stderr);
    assert!(
        said.contains("already holds") && said.contains("Nothing was changed"),
        "{said}"
    );
}

#[tokio::test]
async fn migrate_store_refuses_a_missing_source_or_a_non_postgres_target() {
    let dir = tempfile::tempdir().unwrap();
    let out = migrate_store(dir.path(), "postgres://nobody@127.0.0.1:1/none", "s3://b");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no i2v database at"),
        "{}",
        text(&out.stderr)
    );

    let out = migrate_store(dir.path(), "sqlite://elsewhere.db", "s3://b");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--to-database-url must be a postgres:// URL"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn a_file_missing_from_the_source_is_reported_and_its_video_still_moves() {
    require_services();
    let mut source = spawn_with(|c| {
        c.database_url = None;
        c.blob_url = None;
    })
    .await;
    let me = source.create_account(100).await;
    let id = source.create_video(&me).await;
    let keys = source.drain_jobs().await;
    source.stop().await;
    std::fs::remove_file(source.dir.path().join("blobs").join(&keys[0])).unwrap();

    let database_url = fresh_postgres_database().await;
    let blob_url = format!("s3://{}", fresh_s3_bucket().await);
    let out = migrate_store(source.dir.path(), &database_url, &blob_url);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("files missing:       1\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("missing in the source: {}", keys[0])),
        "{stdout}"
    );

    let master_key = std::fs::read_to_string(source.dir.path().join("master.key")).unwrap();
    let target = spawn_with(|c| {
        c.database_url = Some(database_url.into());
        c.blob_url = Some(blob_url.into());
        c.master_key = Some(master_key.trim().into());
    })
    .await;
    assert_eq!(target.status_of(&me, &id).await, Some(3));
}
