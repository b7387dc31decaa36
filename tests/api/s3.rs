//! Output files in S3-compatible storage, against a real S3 server (moto in CI, started by
//! `scripts/services start`, which exports `I2V_TEST_S3_ENDPOINT` and the `AWS_*` variables):
//! create, render, fetch through `video_url` (proxied and presigned), delete, sweep.

use std::time::Duration;

use bytes::Bytes;
use i2v::blobs::{BlobLocation, Blobs};
use i2v::config::VideoUrlMode;
use reqwest::StatusCode;

use crate::helpers::*;

struct Bucket {
    endpoint: String,
    name: String,
}

impl Bucket {
    /// The object's path-style address.
    fn object_url(&self, key: &str) -> String {
        format!("{}/{}/{key}", self.endpoint, self.name)
    }

    /// Whether `key` (the full key, prefix included) exists, seen without any prefix.
    async fn has(&self, key: &str) -> bool {
        let whole = BlobLocation::S3 {
            bucket: self.name.clone(),
            prefix: String::new(),
        };
        let blobs = Blobs::open(&whole).unwrap();
        blobs.size(key).await.unwrap().is_some()
    }
}

/// A fresh, uniquely named bucket on the test S3 server (the test fails without one).
async fn s3_bucket() -> Bucket {
    crate::backends::require_services();
    let endpoint = crate::backends::s3_endpoint()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let name = crate::backends::fresh_s3_bucket().await;
    Bucket { endpoint, name }
}

async fn spawn_on(bucket: &Bucket, prefix: &str, mode: VideoUrlMode) -> TestApp {
    let url = format!("s3://{}/{prefix}", bucket.name);
    spawn_with(|c| {
        c.blob_url = Some(url.into());
        c.blobs.video_urls = mode;
        c.blobs.presign_expiry = Duration::from_secs(600);
    })
    .await
}

/// Creates a video, finishes it, and returns (id, blob key, video_url, the file's bytes).
async fn finished_video(app: &TestApp, me: &Account) -> (String, String, String, Bytes) {
    let id = app.create_video(me).await;
    let keys = app.drain_jobs().await;
    assert_eq!(keys.len(), 1);
    let body = app.results(me, &id).await;
    let url = body["data"]["result"][0]["video_url"]
        .as_str()
        .unwrap_or_else(|| panic!("a completed video has a video_url: {body}"))
        .to_owned();
    let bytes = app.app.blobs.get(&keys[0]).await.unwrap().expect("stored");
    (id, keys[0].clone(), url, bytes)
}

#[tokio::test]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn proxied_urls_serve_ranges_from_the_bucket_and_stop_at_delete() {
    let bucket = s3_bucket().await;
    let app = spawn_on(&bucket, "i2v/proxied", VideoUrlMode::Proxy).await;
    let me = app.create_account(1000).await;
    let (id, key, url, bytes) = finished_video(&app, &me).await;
    assert_eq!(url, app.url(&format!("/files/{key}")));
    // Every key lives under the prefix.
    assert!(bucket.has(&format!("i2v/proxied/{key}")).await);

    let whole = app.client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap(), bytes);
    let part = app
        .client
        .get(&url)
        .header("range", "bytes=4-7")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 4-7/{}", bytes.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(4..8));

    let answer = app.delete(&me, &id).await;
    assert_eq!(ids_of(&answer["data"]["successIds"]), vec![id]);
    let after = app.client.get(&url).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::NOT_FOUND, "stops at commit");
    assert_gone_after_sweep(&app, &bucket, &format!("i2v/proxied/{key}")).await;
}

#[tokio::test]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn presigned_urls_fetch_straight_from_the_bucket_until_the_sweep() {
    let bucket = s3_bucket().await;
    let app = spawn_on(&bucket, "", VideoUrlMode::Presigned).await;
    let me = app.create_account(1000).await;
    let (id, key, url, bytes) = finished_video(&app, &me).await;
    assert!(bucket.has(&key).await);
    assert!(
        url.starts_with(&bucket.object_url(&key)) && url.contains("X-Amz-Signature="),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=600"), "{url}");

    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap(), bytes);

    let answer = app.delete(&me, &id).await;
    assert_eq!(ids_of(&answer["data"]["successIds"]), vec![id]);
    assert_gone_after_sweep(&app, &bucket, &key).await;
    let after = reqwest::get(&url).await.unwrap();
    assert!(
        after.status().is_client_error(),
        "a presigned URL fails once the object is gone: {}",
        after.status()
    );
}

#[tokio::test]
#[ignore = "needs the PostgreSQL and S3 test servers (scripts/test runs it)"]
async fn removing_an_object_that_is_not_there_counts_as_done() {
    let bucket = s3_bucket().await;
    let app = spawn_on(&bucket, "p", VideoUrlMode::Proxy).await;
    app.app.blobs.delete("videos/none/never.mp4").await.unwrap();
}

/// The deletion sweep leaves nothing: no outbox row, no key under the prefix, no object.
async fn assert_gone_after_sweep(app: &TestApp, bucket: &Bucket, object: &str) {
    i2v::outbox::sweep(app.app.store.as_ref(), &app.app.blobs)
        .await
        .unwrap();
    assert!(app.outbox_is_empty().await);
    assert_eq!(app.blob_keys().await, Vec::<String>::new());
    assert!(
        !bucket.has(object).await,
        "{object} is gone from the bucket"
    );
}
