//! The whole render lifecycle through HTTP with real workers and real ffmpeg: create -> 3 with a
//! playable MP4 (checked by ffprobe), failures with refunds, update-audio, deletes racing workers.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::assets::{spawn_assets, Assets};
use crate::helpers::*;

const CREATE: &str = "/api/open/v4/image2Video/createBySourcePrompt";

async fn spawn_renderer(workers: usize) -> (TestApp, Assets) {
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| {
        c.workers = Some(workers);
        c.render.preset = "ultrafast".into();
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.reap_interval = Duration::from_millis(200);
    })
    .await;
    (app, assets)
}

/// Polls results until every id is 3 or 4 (or gone); returns the final records.
pub(crate) async fn wait_done(app: &TestApp, account: &Account, ids: &[String]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let answer = app.results(account, &ids.join(",")).await;
        let items = answer["data"]["result"].as_array().unwrap().clone();
        if items
            .iter()
            .all(|v| matches!(v["status"].as_i64(), Some(3) | Some(4)))
        {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "renders did not finish: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn download_and_probe(app: &TestApp, url: &str, dir: &Path) -> Probe {
    let resp = app.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    let bytes = resp.bytes().await.unwrap();
    probe_mp4(&bytes, dir)
}

async fn create(app: &TestApp, me: &Account, body: Value) -> String {
    let created = app.post_as(&me.key, CREATE, body).await;
    assert_eq!(created["code"], 1000, "{created}");
    created["data"]["_id"].as_str().unwrap().to_owned()
}

/// The plain case: the landscape test image, 720p, no audio.
fn landscape(assets: &Assets) -> Value {
    body(&assets.url("/landscape.png"), "720p", 3, "")
}

fn body(image_url: &str, resolution: &str, audio_type: i64, audio_url: &str) -> Value {
    json!({
        "image_url": image_url, "prompt": "slow zoom in on the grid", "negative_prompt": "",
        "resolution": resolution, "audio_type": audio_type, "audio_url": audio_url, "video_length": 5
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landscape_and_portrait_videos_render_to_playable_mp4s() {
    let (app, assets) = spawn_renderer(2).await;
    let me = app.create_account(1000).await;
    let cases = [
        (
            assets.url("/landscape.png"),
            "720p",
            3,
            String::new(),
            (1280, 720),
            false,
        ),
        (
            assets.url("/portrait.jpg"),
            "720p",
            2,
            assets.url("/tone.wav"),
            (720, 1280),
            true,
        ),
        (
            assets.url("/square.webp"),
            "720p",
            1,
            String::new(),
            (1280, 720),
            true,
        ),
    ];
    let mut ids = Vec::new();
    for (image, res, audio_type, audio_url, _, _) in &cases {
        ids.push(create(&app, &me, body(image, res, *audio_type, audio_url)).await);
    }
    let done = wait_done(&app, &me, &ids).await;
    let tmp = tempfile::tempdir().unwrap();
    for (item, (_, _, _, _, (w, h), audio)) in done.iter().zip(&cases) {
        assert_eq!(item["status"], 3, "{item}");
        let probe = download_and_probe(&app, item["video_url"].as_str().unwrap(), tmp.path()).await;
        assert_eq!(probe.codec, "h264");
        assert_eq!(probe.pix_fmt, "yuv420p");
        assert_eq!((probe.width, probe.height), (*w, *h));
        assert!(
            (probe.duration - 5.0).abs() <= 0.1,
            "duration {}",
            probe.duration
        );
        assert_eq!(probe.has_audio, *audio, "{item}");
        let reported = item["video_duration"].as_f64().unwrap();
        assert!((reported - probe.duration).abs() < 0.01);
    }
    assert_eq!(
        app.balance(&me).await,
        1000 - 3 * 20,
        "successful renders keep their charge"
    );

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("i2v_renders_total{outcome=\"completed\"}"),
        "{metrics}"
    );

    // Browsers seek with ranges.
    let url = done[0]["video_url"].as_str().unwrap();
    let part = app
        .client
        .get(url)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert!(part.headers()["content-range"]
        .to_str()
        .unwrap()
        .starts_with("bytes 0-99/"));
    assert_eq!(part.bytes().await.unwrap().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_fail_with_a_reason_and_a_refund() {
    let (app, assets) = spawn_renderer(2).await;
    let me = app.create_account(1000).await;
    let cases = [
        (assets.url("/notes.txt"), "unsupported image format"),
        (assets.url("/animated.png"), "unsupported image format"),
        (assets.url("/missing.png"), "404"),
    ];
    let mut ids = Vec::new();
    for (url, _) in &cases {
        ids.push(create(&app, &me, body(url, "720p", 3, "")).await);
    }
    let done = wait_done(&app, &me, &ids).await;
    for (item, (_, reason)) in done.iter().zip(&cases) {
        assert_eq!(item["status"], 4, "{item}");
        let got = item["error_reason"].as_str().unwrap();
        assert!(got.contains(reason), "expected {reason:?} in {got:?}");
        assert_eq!(item["deduction_credit"], 0);
        assert!(item.get("video_url").is_none());
    }
    assert_eq!(app.balance(&me).await, 1000, "every failure was refunded");
    assert!(app.blob_keys().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_video_audio_makes_a_new_record_with_sound() {
    let (app, assets) = spawn_renderer(1).await;
    let me = app.create_account(1000).await;
    let id = create(&app, &me, landscape(&assets)).await;
    wait_done(&app, &me, std::slice::from_ref(&id)).await;
    let update = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/updateVideoAudio",
            json!({"pre_video_id": id, "audio_type": 2, "audio_url": assets.url("/tone.wav")}),
        )
        .await;
    assert_eq!(update["code"], 1000, "{update}");
    let data = &update["data"];
    assert_eq!(data["pre_video_id"], id.as_str());
    assert_eq!(data["only_add_audio"], true);
    assert_eq!(data["status"], 1);
    assert_eq!(data["deduction_credit"], 5);
    let new_id = data["_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    let done = wait_done(&app, &me, std::slice::from_ref(&new_id)).await;
    assert_eq!(done[0]["status"], 3, "{}", done[0]);
    assert_eq!(done[0]["only_add_audio"], true);
    let tmp = tempfile::tempdir().unwrap();
    let probe = download_and_probe(&app, done[0]["video_url"].as_str().unwrap(), tmp.path()).await;
    assert!(probe.has_audio);
    assert!((probe.duration - 5.0).abs() <= 0.1);
    assert_eq!(app.balance(&me).await, 1000 - 20 - 5);

    for (body, code) in [
        (
            json!({"pre_video_id": "6650aa11bb22cc33dd44ee55", "audio_type": 1}),
            1008,
        ),
        (json!({"pre_video_id": id, "audio_type": 3}), 1003),
        (json!({"pre_video_id": id, "audio_type": 2}), 1003),
        (json!({"audio_type": 1}), 1003),
    ] {
        let answer = app
            .post_as(
                &me.key,
                "/api/open/v4/image2Video/updateVideoAudio",
                body.clone(),
            )
            .await;
        assert_eq!(answer["code"], code, "{body}: {answer}");
    }
    let queued_id = create(&app, &me, landscape(&assets)).await;
    app.set_status(&queued_id, 2).await;
    let not_done = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/updateVideoAudio",
            json!({"pre_video_id": queued_id, "audio_type": 1}),
        )
        .await;
    assert_eq!(not_done["code"], 1010);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_racing_workers_never_leave_a_file_or_render_a_deleted_video() {
    let (app, assets) = spawn_renderer(2).await;
    let me = app.create_account(10_000).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(create(&app, &me, landscape(&assets)).await);
    }
    // Delete every other video, repeatedly, while workers are claiming and rendering.
    let targets: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let mut deleted = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    while deleted.len() < targets.len() {
        assert!(Instant::now() < deadline, "deletes kept being refused");
        let answer = app.delete(&me, &targets.join(",")).await;
        for id in ids_of(&answer["data"]["successIds"]) {
            assert!(deleted.insert(id), "an id was deleted twice");
        }
        for (id, msg) in refusals(&answer) {
            assert!(msg == PROCESSING || deleted.contains(&id), "{id}: {msg}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let survivors: Vec<String> = ids.iter().skip(1).step_by(2).cloned().collect();
    let done = wait_done(&app, &me, &survivors).await;
    assert!(done.iter().all(|v| v["status"] == 3));
    // Quiescence: let the sweeper catch up with any file a late worker wrote.
    let expected: std::collections::HashSet<String> = done
        .iter()
        .map(|v| {
            v["video_url"]
                .as_str()
                .unwrap()
                .split("/files/")
                .nth(1)
                .unwrap()
                .to_owned()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        i2v::outbox::sweep(app.app.store.as_ref(), &app.app.blobs)
            .await
            .unwrap();
        let keys: std::collections::HashSet<String> =
            app.video_file_keys().await.into_iter().collect();
        if keys == expected {
            app.assert_posters_have_videos().await;
            break;
        }
        assert!(
            Instant::now() < deadline,
            "files {keys:?} != rows {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in &targets {
        assert_eq!(app.status_of(&me, id).await, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_lost_its_lease_writes_nothing_and_the_job_is_rendered_again() {
    let (app, assets) = spawn_with_lease_and_assets().await;
    let me = app.create_account(100).await;
    let id = create(&app, &me, landscape(&assets)).await;
    // A worker claims the job and dies (never heartbeats, never finishes).
    let store = &app.app.store;
    let now = i2v::clock::now_ms();
    let claimed = store
        .claim_next("dead-worker/1", now, now + 300)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id.to_hex(), id);
    // Its late result, staged and uploaded before it noticed anything.
    let stale_key = i2v::blobs::Blobs::key_for(&id, "stale");
    store.stage_blob(&stale_key, now).await.unwrap();
    app.app
        .blobs
        .put(&stale_key, bytes::Bytes::from_static(b"stale"))
        .await
        .unwrap();

    // The reaper returns the job and a live worker renders it.
    let stop = tokio_util::sync::CancellationToken::new();
    let live = tokio::spawn(i2v::jobs::run_worker(
        app.app.clone(),
        "live".into(),
        stop.clone(),
    ));
    let done = wait_done(&app, &me, std::slice::from_ref(&id)).await;
    assert_eq!(done[0]["status"], 3);
    let late = i2v::store::Completion {
        id: claimed.id,
        owner: "dead-worker/1".into(),
        blob_key: stale_key.clone(),
        video_duration: 1.0,
    };
    assert!(
        !store.complete(late, i2v::clock::now_ms()).await.unwrap(),
        "the stale worker is fenced off"
    );
    i2v::outbox::sweep(store.as_ref(), &app.app.blobs)
        .await
        .unwrap();
    let keys = app.video_file_keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(!keys[0].contains("stale"));
    app.assert_posters_have_videos().await;
    assert!(done[0]["video_url"].as_str().unwrap().ends_with(&keys[0]));
    stop.cancel();
    live.await.unwrap();
}

async fn spawn_with_lease_and_assets() -> (TestApp, Assets) {
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| {
        c.workers = Some(0);
        c.render.preset = "ultrafast".into();
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.reap_interval = Duration::from_millis(100);
    })
    .await;
    (app, assets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_the_file_but_keeps_the_record() {
    let (app, assets) = spawn_renderer(1).await;
    let me = app.create_account(100).await;
    let id = create(&app, &me, landscape(&assets)).await;
    let done = wait_done(&app, &me, std::slice::from_ref(&id)).await;
    let url = done[0]["video_url"].as_str().unwrap().to_owned();
    let now = i2v::clock::now_ms();
    assert_eq!(
        app.app
            .store
            .expire_outputs(now + 1, now, 100)
            .await
            .unwrap(),
        1
    );
    i2v::outbox::sweep(app.app.store.as_ref(), &app.app.blobs)
        .await
        .unwrap();
    let after = app.results(&me, &id).await;
    let record = &after["data"]["result"][0];
    assert_eq!(record["status"], 3);
    assert!(record.get("video_url").is_none(), "{record}");
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert!(app.blob_keys().await.is_empty());
    // The record can still be deleted.
    assert_eq!(
        ids_of(&app.delete(&me, &id).await["data"]["successIds"]),
        vec![id]
    );
}

/// Renders the landscape image on a server configured by `tweak`; the video must fail with
/// `reason` and be refunded.
async fn fails_with(assets: &Assets, tweak: impl FnOnce(&mut i2v::Config), reason: &str) {
    let app = spawn_with(|c| {
        c.workers = Some(1);
        c.jobs.poll = Duration::from_millis(50);
        tweak(c);
    })
    .await;
    let me = app.create_account(100).await;
    let id = create(&app, &me, landscape(assets)).await;
    let done = wait_done(&app, &me, &[id]).await;
    assert_eq!(done[0]["status"], 4);
    let got = done[0]["error_reason"].as_str().unwrap();
    assert!(got.contains(reason), "expected {reason:?} in {got:?}");
    assert_eq!(app.balance(&me).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_images_private_addresses_and_a_missing_ffmpeg_fail_with_their_reasons() {
    require_ffmpeg();
    let assets = spawn_assets().await;
    fails_with(
        &assets,
        |c| c.render.max_image_bytes = 1000,
        "larger than 1000 bytes",
    )
    .await;
    // Refused from the header: 800x600 is over the cap, and nothing is decoded.
    fails_with(
        &assets,
        |c| c.render.max_image_pixels = 10_000,
        "image_url: image is too large: 800x600 (at most 10000 pixels)",
    )
    .await;
    fails_with(
        &assets,
        |c| c.render.ffmpeg = "/nonexistent/ffmpeg".into(),
        "ffmpeg is not installed",
    )
    .await;
    fails_with(&assets, |c| c.allow_private_urls = false, "private").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_faults_are_retried_with_backoff_then_given_up() {
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| {
        c.workers = Some(1);
        c.render.preset = "ultrafast".into();
        c.jobs.poll = Duration::from_millis(20);
        c.jobs.retry_base = Duration::from_millis(50);
        c.jobs.max_attempts = 3;
    })
    .await;
    let me = app.create_account(100).await;
    let flaky = create(&app, &me, body(&assets.url("/flaky.png"), "720p", 3, "")).await;
    let down = create(&app, &me, body(&assets.url("/down.png"), "720p", 3, "")).await;
    let done = wait_done(&app, &me, &[flaky, down]).await;
    assert_eq!(done[0]["status"], 3, "the third try succeeds: {}", done[0]);
    assert_eq!(done[1]["status"], 4);
    let reason = done[1]["error_reason"].as_str().unwrap();
    assert!(
        reason.contains("gave up after 3 attempts") && reason.contains("503"),
        "{reason}"
    );
    assert_eq!(app.balance(&me).await, 80, "only the failure is refunded");
}

/// Serves `files` (path, bytes, content type) from 127.0.0.1 on a random port; returns its base
/// URL. The server stops when the test's runtime does.
async fn serve_files(files: Vec<(&'static str, Vec<u8>, &'static str)>) -> String {
    use axum::http::header;
    use axum::response::IntoResponse;
    let mut router = axum::Router::new();
    for (path, bytes, mime) in files {
        router = router.route(
            path,
            axum::routing::get(move || async move {
                ([(header::CONTENT_TYPE, mime)], bytes).into_response()
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

/// Two seconds of a 440 Hz tone as MP3, made by ffmpeg in `dir`.
fn tone_mp3(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("tone.mp3");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "sine=frequency=440:duration=2", "-c:a", "libmp3lame"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

/// Waits for `id` and checks it failed because its audio was refused, and left no file.
async fn assert_audio_refused(app: &TestApp, me: &Account, id: &str, secret_dir: &Path) {
    let done = wait_done(app, me, &[id.to_owned()]).await;
    assert_eq!(
        done[0]["status"], 4,
        "the playlist was followed: {}",
        done[0]
    );
    let reason = done[0]["error_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("audio_url: not a supported audio file (MP3, WAV"),
        "{reason}"
    );
    let dir = secret_dir.to_string_lossy();
    assert!(!reason.contains(dir.as_ref()) && !reason.contains("tone.mp3"));
    assert!(done[0].get("video_url").is_none());
    assert!(
        app.blob_keys().await.iter().all(|k| !k.contains(id)),
        "no output file for {id}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_urls_that_are_playlists_are_refused_and_never_read_local_files() {
    let (app, assets) = spawn_renderer(1).await;
    let secret = tempfile::tempdir().unwrap();
    let tone = tone_mp3(secret.path());
    let local = format!("file://{}", tone.display());
    let hls = format!("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\n{local}\n#EXT-X-ENDLIST\n");
    let concat = format!("ffconcat version 1.0\nfile '{}'\n", tone.display());
    let base = serve_files(vec![
        ("/tone.mp3", std::fs::read(&tone).unwrap(), "audio/mpeg"),
        ("/list.m3u8", hls.into_bytes(), "audio/mpeg"),
        ("/list.ffconcat", concat.into_bytes(), "audio/mpeg"),
    ])
    .await;
    let me = app.create_account(1000).await;
    let image = assets.url("/landscape.png");

    // Control: the same tone served directly renders, with its sound.
    let fine = create(
        &app,
        &me,
        body(&image, "720p", 2, &format!("{base}/tone.mp3")),
    )
    .await;
    let done = wait_done(&app, &me, std::slice::from_ref(&fine)).await;
    assert_eq!(done[0]["status"], 3, "{}", done[0]);
    let tmp = tempfile::tempdir().unwrap();
    let probe = download_and_probe(&app, done[0]["video_url"].as_str().unwrap(), tmp.path()).await;
    assert!(probe.has_audio);
    assert!((probe.duration - 5.0).abs() <= 0.1);

    // A playlist or concat list naming that file on the server's disk is refused at render.
    for list in ["/list.m3u8", "/list.ffconcat"] {
        let audio_url = format!("{base}{list}");
        let id = create(&app, &me, body(&image, "720p", 2, &audio_url)).await;
        assert_audio_refused(&app, &me, &id, secret.path()).await;
    }

    // The same for an audio update of a finished video.
    let update = app
        .post_as(
            &me.key,
            "/api/open/v4/image2Video/updateVideoAudio",
            json!({"pre_video_id": fine, "audio_type": 2, "audio_url": format!("{base}/list.m3u8")}),
        )
        .await;
    assert_eq!(update["code"], 1000, "{update}");
    let update_id = update["data"]["_id"].as_str().unwrap().to_owned();
    assert_audio_refused(&app, &me, &update_id, secret.path()).await;
    assert_eq!(
        app.balance(&me).await,
        1000 - 20,
        "only the control is charged"
    );
}

/// This process's resident-memory high-water mark in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A memory report, not a timing: the server renders two 7000x7000 images at once (an RGBA
/// PNG of 5.9 MB, then a JPEG) at 720p and its peak RSS is read. Run it alone, in release:
/// `cargo test --release --test api render::two_huge_images -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "memory report: run alone, in release"]
async fn two_huge_images_rendering_at_once_stay_under_400_mib() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, pix_fmt, mime) in [
        ("big.png", "rgba", "image/png"),
        ("big.jpg", "yuvj444p", "image/jpeg"),
    ] {
        let path = dir.path().join(name);
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi"])
            .args(["-i", "testsrc2=s=7000x7000", "-frames:v", "1"])
            .args(["-pix_fmt", pix_fmt, "-q:v", "3"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let route: &'static str = if name.ends_with("png") {
            "/big.png"
        } else {
            "/big.jpg"
        };
        files.push((route, std::fs::read(&path).unwrap(), mime));
    }
    let base = serve_files(files).await;
    let app = spawn_with(|c| {
        c.workers = Some(2);
        c.render.preset = "ultrafast".into();
        c.jobs.poll = Duration::from_millis(50);
    })
    .await;
    let me = app.create_account(1000).await;
    // I2V_MEMORY_REPORT_RESOLUTION=4k measures the largest output (4k renders take turns).
    let resolution =
        std::env::var("I2V_MEMORY_REPORT_RESOLUTION").unwrap_or_else(|_| "720p".into());
    for route in ["/big.png", "/big.jpg"] {
        // Peak from here on: writing 5 to clear_refs resets VmHWM to the current RSS.
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = peak_rss_kib();
        let image = format!("{base}{route}");
        let ids = vec![
            create(&app, &me, body(&image, &resolution, 3, "")).await,
            create(&app, &me, body(&image, &resolution, 1, "")).await,
        ];
        let done = wait_done(&app, &me, &ids).await;
        assert!(done.iter().all(|v| v["status"] == 3), "{done:?}");
        let peak = peak_rss_kib();
        println!(
            "{route}: RSS before {} MiB, peak while rendering two at once {} MiB",
            before / 1024,
            peak / 1024
        );
        assert!(peak < 400 * 1024, "{route}: peak RSS {} MiB", peak / 1024);
    }
}

/// Each render leaves a poster (the console's thumbnail) beside its file, served only for the
/// video's current file, and gone with the video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rendered_video_has_a_poster_that_goes_with_it() {
    let (app, assets) = spawn_renderer(1).await;
    let me = app.create_account(100).await;
    let id = create(&app, &me, landscape(&assets)).await;
    let done = wait_done(&app, &me, std::slice::from_ref(&id)).await;
    assert_eq!(done[0]["status"], 3, "{done:?}");
    let video_url = done[0]["video_url"].as_str().unwrap();
    let poster_url = video_url.replace(".mp4", ".jpg");
    let poster = app.client.get(&poster_url).send().await.unwrap();
    assert_eq!(poster.status(), StatusCode::OK);
    assert_eq!(poster.headers()["content-type"], "image/jpeg");
    let bytes = poster.bytes().await.unwrap();
    let image = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!(
        (image.width(), image.height()),
        (320, 180),
        "landscape 720p, 320 wide"
    );
    let mut keys = app.blob_keys().await;
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].ends_with(".jpg") && keys[1].ends_with(".mp4"),
        "{keys:?}"
    );

    // Only the current file's poster is served.
    let other = poster_url.replace(&format!("/{id}/"), "/6b0000000000000000000000/");
    assert_eq!(
        app.client.get(&other).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let deleted = app.delete(&me, &id).await;
    assert_eq!(deleted["data"]["successIds"], json!([id]), "{deleted}");
    i2v::outbox::sweep(app.app.store.as_ref(), &app.app.blobs)
        .await
        .unwrap();
    assert!(
        app.blob_keys().await.is_empty(),
        "the poster went with the video"
    );
    assert_eq!(
        app.client.get(&poster_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
