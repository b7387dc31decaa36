//! Fresh PostgreSQL databases and S3 buckets for tests, on the throwaway servers that
//! `scripts/services start` runs (scripts/test starts them and exports their addresses).
//!
//! Each call makes a new uniquely named database or bucket, so tests never share state and never
//! clean up: the servers are thrown away whole.
//!
//! Every test that needs the servers is marked `#[ignore = "needs the PostgreSQL and S3 test
//! servers ..."]`, so a plain `cargo test` lists it as `ignored` instead of passing it without
//! running it. scripts/test runs them with `--ignored` and a filter naming the modules they live
//! in (`services_tests` there: add a module that gets such tests; scripts/test refuses to run when
//! an #[ignore]d test is in no listed module, or a listed module has none), and a missing server
//! fails them (`require_services`). Under CI (`CI` set) even a plain `cargo test` fails when the
//! servers are missing (`the_test_servers_are_configured_under_ci`).

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use sqlx::{Connection, PgConnection};

const POSTGRES_URL_VAR: &str = "I2V_TEST_POSTGRES_URL";
const S3_ENDPOINT_VAR: &str = "I2V_TEST_S3_ENDPOINT";
const HOW_TO_GET_THEM: &str = "run scripts/test, which starts them (or `scripts/services start`, \
     `source` the env file it prints, then `cargo test -- --include-ignored`)";

/// The superuser URL of the test PostgreSQL server, if one is configured.
pub fn postgres_admin_url() -> Option<String> {
    non_empty_var(POSTGRES_URL_VAR)
}

/// The endpoint of the test S3 server (moto), if one is configured.
pub fn s3_endpoint() -> Option<String> {
    non_empty_var(S3_ENDPOINT_VAR)
}

/// Fails the calling test, saying how to start them, unless both test servers are configured.
/// Only tests marked `#[ignore]` call it: they run only when asked for, and a test asked for
/// must not pass without having run.
pub fn require_services() {
    if let Some(message) = missing_services() {
        panic!("{message}");
    }
}

/// What is missing of the test servers' configuration, as a message saying how to get them.
fn missing_services() -> Option<String> {
    let missing: Vec<&str> = [
        (POSTGRES_URL_VAR, postgres_admin_url()),
        (S3_ENDPOINT_VAR, s3_endpoint()),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_none())
    .map(|(name, _)| name)
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "PostgreSQL/S3 test servers missing ({} not set): {HOW_TO_GET_THEM}",
            missing.join(", ")
        )
    })
}

/// Under CI the tests that need the servers must run, so a CI job that forgot to start them (or
/// to pass `--include-ignored`, which scripts/test does) fails here instead of going green with
/// those tests only listed as ignored. Outside CI this checks nothing.
#[test]
fn the_test_servers_are_configured_under_ci() {
    if std::env::var_os("CI").is_some() {
        require_services();
    }
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_postgres_database() -> String {
    let admin_url = postgres_admin_url()
        .unwrap_or_else(|| panic!("PostgreSQL test server missing: {HOW_TO_GET_THEM}"));
    let name = format!("i2v_test_{:016x}", rand::random::<u64>());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to the PostgreSQL test server: {e}"));
    // CREATE DATABASE takes no bind parameters; the name is ours and is plain [a-z0-9_].
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    admin.close().await.ok();

    let mut url = url::Url::parse(&admin_url).expect("I2V_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// Creates an empty bucket with a unique name on the test S3 server and returns its name.
pub async fn fresh_s3_bucket() -> String {
    let endpoint =
        s3_endpoint().unwrap_or_else(|| panic!("S3 test server missing: {HOW_TO_GET_THEM}"));
    let bucket = format!("i2v-test-{:016x}", rand::random::<u64>());
    // moto accepts unsigned requests, so a plain PUT is enough to create a bucket.
    let response = reqwest::Client::new()
        .put(format!("{}/{bucket}", endpoint.trim_end_matches('/')))
        .send()
        .await
        .unwrap_or_else(|e| panic!("reach the S3 test server at {endpoint}: {e}"));
    assert!(
        response.status().is_success(),
        "create bucket {bucket}: HTTP {}",
        response.status()
    );
    bucket
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[tokio::test]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn fresh_database_and_bucket_work_on_the_test_servers() {
    require_services();

    let database_url = fresh_postgres_database().await;
    let mut db = PgConnection::connect(&database_url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let current: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(
        database_url.ends_with(&format!("/{current}")),
        "{database_url}"
    );
    db.close().await.unwrap();

    let bucket = fresh_s3_bucket().await;
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(&bucket)
        .with_allow_http(true)
        .build()
        .unwrap();
    let key = Path::from("probe/hello.txt");
    s3.put(&key, PutPayload::from_static(b"hello"))
        .await
        .unwrap();
    let got = s3.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], b"hello");
}
