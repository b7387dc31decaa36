//! The `comfyui` render backend end to end, without a GPU: create through the Akool API -> fake
//! ComfyUI server (real endpoints and message shapes, a real small video) -> a playable MP4 of
//! the requested size and length at `video_url` -> delete; and every failure path.

mod fake;
mod shipped;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use i2v::config::{ComfyInputs, ComfyModel, ComfyServer};
use i2v::{App, Config};
use reqwest::StatusCode;
use serde_json::{json, Value};

use self::fake::{FakeComfy, Layout, Mode};
use crate::assets::{spawn_assets, Assets};
use crate::helpers::*;
use crate::render::wait_done;

const BATCH: &str = "/api/open/v4/image2Video/createBySourcePrompt/batch";
const MODEL: &str = "Wan2.2-I2V";

/// The shipped Wan 2.2 workflow's node ids.
fn wan_layout() -> Layout {
    Layout {
        image: ("52", "image"),
        width: ("50", "width"),
        height: ("50", "height"),
        frames: ("50", "length"),
        fps: 24,
        output_node: "58",
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn wan_model(timeout_secs: u64) -> ComfyModel {
    ComfyModel {
        name: MODEL.into(),
        label: "Wan 2.2 Image to Video".into(),
        provider: "wan".into(),
        workflow: "workflows/wan22_i2v.json".into(),
        output_node: "58".into(),
        resolutions: [("480p".to_string(), 4), ("720p".to_string(), 6)].into(),
        durations: vec![5],
        fps: 24,
        supported_last_frame: false,
        timeout_secs,
        inputs: ComfyInputs {
            image: "52.image".into(),
            prompt: "6.text".into(),
            negative_prompt: "7.text".into(),
            width: "50.width".into(),
            height: "50.height".into(),
            frames: "50.length".into(),
            fps: "57.fps".into(),
            seed: "3.seed".into(),
            ..ComfyInputs::default()
        },
    }
}

fn with_comfyui(c: &mut Config, servers: &[&FakeComfy], timeout_secs: u64) {
    c.workers = Some(2);
    c.render.preset = "ultrafast".into();
    c.jobs.poll = Duration::from_millis(50);
    c.jobs.reap_interval = Duration::from_millis(200);
    c.comfyui.base_dir = Some(repo_root());
    c.comfyui.history_poll = Duration::from_millis(100);
    c.comfyui.servers = servers
        .iter()
        .map(|s| ComfyServer {
            url: s.url.clone(),
            max_jobs: 1,
            headers: Default::default(),
        })
        .collect();
    c.comfyui.models = vec![wan_model(timeout_secs)];
}

async fn spawn(servers: &[&FakeComfy], timeout_secs: u64) -> (TestApp, Assets) {
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| with_comfyui(c, servers, timeout_secs)).await;
    (app, assets)
}

async fn fake(mode: Mode, step_ms: u64) -> FakeComfy {
    FakeComfy::start(wan_layout(), mode, Duration::from_millis(step_ms)).await
}

fn order(assets: &Assets, count: i64) -> Value {
    json!({
        "image_url": assets.url("/landscape.png"), "prompt": "waves roll onto the shore",
        "negative_prompt": "", "resolution": "480p", "audio_type": 3, "audio_url": "",
        "video_length": 5, "model_name": MODEL, "count": count, "is_premium_model": false
    })
}

async fn create(app: &TestApp, me: &Account, body: Value) -> Vec<String> {
    let created = app.post_as(&me.key, BATCH, body).await;
    assert_eq!(created["code"], 1000, "{created}");
    created["data"]["successList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["_id"].as_str().unwrap().to_owned())
        .collect()
}

/// ffprobe of a finished video's file.
async fn probe_output(app: &TestApp, record: &Value) -> Probe {
    let dir = tempfile::tempdir().unwrap();
    let url = record["video_url"]
        .as_str()
        .expect("a finished video has a URL");
    let bytes = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    probe_mp4(&bytes, dir.path())
}

/// Waits until `check` holds of what the fake saw.
async fn until_seen(comfy: &FakeComfy, what: &str, check: impl Fn(&fake::Seen) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !comfy.seen(&check) {
        assert!(Instant::now() < deadline, "the fake never saw {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comfyui_model_is_listed_renders_a_playable_mp4_and_deletes_like_any_other() {
    let comfy = fake(Mode::Works, 50).await;
    let (app, assets) = spawn(&[&comfy], 120).await;

    let me = app.create_account(100).await;
    let models = app
        .get_as(&me.key, "/api/open/v4/aigModel/list?types=1501")
        .await;
    let wan = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == MODEL)
        .unwrap_or_else(|| panic!("{MODEL} is not listed: {models}"))
        .clone();
    let offered: Vec<(&str, i64, i64)> = wan["resolutionList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap(),
                r["width"].as_i64().unwrap(),
                r["unit_credit"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(offered, [("480p", 854, 4), ("720p", 1280, 6)], "{wan}");

    let receiver = crate::webhooks::spawn_receiver(0).await;
    let mut body = order(&assets, 1);
    body["webhookurl"] = json!(receiver.url);
    let ids = create(&app, &me, body).await;
    assert_eq!(
        app.balance(&me).await,
        100 - 4 * 5,
        "480p at 4 credits a second"
    );
    let done = wait_done(&app, &me, &ids).await;
    assert_eq!(done[0]["status"], 3, "{done:?}");
    // The same callbacks as for a built-in model: processing, then done with the URL.
    let got = crate::webhooks::wait_for(&receiver, 2).await;
    let opened: Vec<Value> = got
        .iter()
        .map(|b| crate::webhooks::open(b, &me.client_id, &me.key))
        .collect();
    assert_eq!(
        opened,
        [
            json!({"_id": ids[0], "status": 2, "type": "image2video", "url": ""}),
            json!({"_id": ids[0], "status": 3, "type": "image2video", "url": done[0]["video_url"]}),
        ]
    );

    let probe = probe_output(&app, &done[0]).await;
    assert_eq!((probe.width, probe.height), (854, 480), "{probe:?}");
    assert!((probe.duration - 5.0).abs() < 0.1, "{probe:?}");
    assert_eq!(
        (probe.codec.as_str(), probe.pix_fmt.as_str()),
        ("h264", "yuv420p")
    );
    assert!(!probe.has_audio, "audio_type 3 is silent");

    // What i2v asked ComfyUI for: the uploaded image, the prompt, 832x480 (multiples of 32),
    // 4k+1 frames covering 5 s at 24 fps, the frame rate, and a seed of the video's own.
    let prompt = comfy.seen(|s| s.prompts[0].clone());
    let uploaded = comfy.seen(|s| s.uploads.clone());
    assert_eq!(uploaded.len(), 1);
    assert!(
        uploaded[0].starts_with(&format!("i2v-{}-", ids[0])),
        "{uploaded:?}"
    );
    assert_eq!(prompt["52"]["inputs"]["image"], uploaded[0].as_str());
    assert_eq!(prompt["6"]["inputs"]["text"], "waves roll onto the shore");
    assert_eq!(prompt["50"]["inputs"]["width"], 832);
    assert_eq!(prompt["50"]["inputs"]["height"], 480);
    assert_eq!(prompt["50"]["inputs"]["length"], 121);
    assert_eq!(prompt["57"]["inputs"]["fps"], 24);
    assert!(prompt["3"]["inputs"]["seed"].as_u64().is_some());

    let deleted = app.delete(&me, &ids[0]).await;
    assert_eq!(deleted["data"]["successIds"], json!([ids[0]]), "{deleted}");
    i2v::outbox::sweep(app.app.store.as_ref(), &app.app.blobs)
        .await
        .unwrap();
    assert!(app.blob_keys().await.is_empty(), "the output file is gone");
    let url = done[0]["video_url"].as_str().unwrap();
    let gone = app.client.get(url).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_audio_and_a_portrait_image_are_honoured() {
    let comfy = fake(Mode::Works, 20).await;
    let (app, assets) = spawn(&[&comfy], 120).await;
    let me = app.create_account(100).await;
    let mut body = order(&assets, 1);
    body["image_url"] = json!(assets.url("/portrait.jpg"));
    body["resolution"] = json!("720p");
    body["audio_type"] = json!(1);
    let ids = create(&app, &me, body).await;
    let done = wait_done(&app, &me, &ids).await;
    assert_eq!(done[0]["status"], 3, "{done:?}");
    let probe = probe_output(&app, &done[0]).await;
    assert_eq!((probe.width, probe.height), (720, 1280), "{probe:?}");
    assert!(
        probe.has_audio,
        "audio_type 1 gets the generated soundtrack"
    );
    let prompt = comfy.seen(|s| s.prompts[0].clone());
    assert_eq!(
        (
            prompt["50"]["inputs"]["width"].as_u64(),
            prompt["50"]["inputs"]["height"].as_u64()
        ),
        (Some(704), Some(1280))
    );
}

/// Each way ComfyUI refuses or fails a job fails the video with a reason and refunds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_failed_workflows_fail_the_video_with_a_reason_and_a_refund() {
    let cases = [
        (Mode::NodeErrors, "workflow refused by ComfyUI: node 52 (LoadImage): Custom validation failed for node: image - Invalid image file"),
        (Mode::ExecutionError, "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: Allocation on device would exceed allowed memory."),
    ];
    for (mode, reason) in cases {
        let comfy = fake(mode.clone(), 20).await;
        let (app, assets) = spawn(&[&comfy], 120).await;
        let me = app.create_account(100).await;
        let ids = create(&app, &me, order(&assets, 1)).await;
        let done = wait_done(&app, &me, &ids).await;
        assert_eq!(done[0]["status"], 4, "{mode:?}: {done:?}");
        let shown = done[0]["error_reason"].as_str().unwrap_or_default();
        assert!(shown.starts_with(reason), "{mode:?}: {shown}");
        assert_eq!(app.balance(&me).await, 100, "{mode:?}: refunded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_500_is_passed_over_for_a_working_one() {
    let broken = fake(Mode::ServerError, 20).await;
    let working = fake(Mode::Works, 20).await;
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| {
        with_comfyui(c, &[&broken, &working], 120);
        // A proxy's credentials, sent with every request to that server.
        c.comfyui.servers[1].headers =
            [("Authorization".to_string(), "Bearer proxy-123".into())].into();
    })
    .await;
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 1)).await;
    let done = wait_done(&app, &me, &ids).await;
    assert_eq!(done[0]["status"], 3, "{done:?}");
    assert_eq!(working.seen(|s| s.prompts.len()), 1);
    assert_eq!(broken.seen(|s| s.prompts.len()), 0);
    assert_eq!(
        working.seen(|s| s.authorizations.clone()),
        ["Bearer proxy-123"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_server_down_the_job_is_retried_later_and_then_renders() {
    let comfy = fake(Mode::ServerError, 20).await;
    let (app, assets) = {
        require_ffmpeg();
        let assets = spawn_assets().await;
        let app = spawn_with(|c| {
            with_comfyui(c, &[&comfy], 120);
            c.comfyui.server_cooldown = Duration::from_millis(100);
            c.jobs.retry_base = Duration::from_millis(200);
            c.jobs.retry_max = Duration::from_millis(400);
        })
        .await;
        (app, assets)
    };
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 1)).await;
    // The first attempt finds no working server; the video waits in the queue, not failed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = app.results(&me, &ids[0]).await;
        let record = &answer["data"]["result"][0];
        assert_ne!(
            record["status"], 4,
            "a passing fault must not fail the video: {record}"
        );
        let retried = app
            .metrics()
            .await
            .lines()
            .any(|l| l.contains("outcome=\"retry\"") && !l.ends_with(" 0"));
        if retried {
            break;
        }
        assert!(Instant::now() < deadline, "no retry was scheduled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    comfy.set_mode(Mode::Works);
    let done = wait_done(&app, &me, &ids).await;
    assert_eq!(done[0]["status"], 3, "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_progress_socket_falls_back_to_the_history() {
    let comfy = fake(Mode::DropSocket, 50).await;
    let (app, assets) = spawn(&[&comfy], 120).await;
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 1)).await;
    let done = wait_done(&app, &me, &ids).await;
    assert_eq!(done[0]["status"], 3, "{done:?}");
    assert_eq!(comfy.seen(|s| s.sockets), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_its_time_limit_is_interrupted_removed_and_failed() {
    let comfy = fake(Mode::NeverFinishes, 50).await;
    let (app, assets) = spawn(&[&comfy], 2).await;
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 1)).await;
    let done = wait_done(&app, &me, &ids).await;
    assert_eq!(done[0]["status"], 4, "{done:?}");
    assert_eq!(
        done[0]["error_reason"],
        "the ComfyUI job took longer than the model's limit of 2 s and was stopped"
    );
    assert_eq!(app.balance(&me).await, 100);
    until_seen(&comfy, "the interrupt and the queue removal", |s| {
        !s.interrupts.is_empty() && !s.queue_deletes.is_empty()
    })
    .await;
    let prompt_id = comfy.seen(|s| s.queue_deletes[0].clone());
    assert_eq!(
        comfy.seen(|s| s.interrupts[0].clone()),
        json!({"prompt_id": prompt_id})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_loses_its_lease_stops_the_comfyui_job() {
    let comfy = fake(Mode::NeverFinishes, 50).await;
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| {
        with_comfyui(c, &[&comfy], 600);
        c.jobs.heartbeat = Duration::from_millis(100);
        c.jobs.lease = Duration::from_millis(1_000);
    })
    .await;
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 1)).await;
    until_seen(&comfy, "the prompt", |s| !s.prompts.is_empty()).await;
    // An operator fails the video while it renders: the worker's next heartbeat finds its
    // lease gone and drops the render, which stops the job on the ComfyUI server.
    app.set_status(&ids[0], 4).await;
    // The interrupt goes first and the queue removal right after it: wait for both.
    until_seen(&comfy, "the interrupt and the queue removal", |s| {
        !s.interrupts.is_empty() && !s.queue_deletes.is_empty()
    })
    .await;
    assert_eq!(comfy.seen(|s| s.queue_deletes.len()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_load() {
    let one = fake(Mode::Works, 300).await;
    let two = fake(Mode::Works, 300).await;
    let (app, assets) = spawn(&[&one, &two], 120).await;
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 2)).await;
    let done = wait_done(&app, &me, &ids).await;
    assert!(done.iter().all(|v| v["status"] == 3), "{done:?}");
    assert_eq!(
        (one.seen(|s| s.prompts.len()), two.seen(|s| s.prompts.len())),
        (1, 1),
        "each server ran one of the two jobs (max_jobs = 1 each)"
    );
}

#[tokio::test]
async fn bad_comfyui_configs_are_refused_at_start_up_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = |c: &mut Config| {
        c.data_dir = dir.path().to_path_buf();
        c.comfyui.base_dir = Some(repo_root());
        c.comfyui.servers = vec![ComfyServer {
            url: "http://10.0.0.5:8188".into(),
            max_jobs: 1,
            headers: Default::default(),
        }];
        c.comfyui.models = vec![wan_model(60)];
    };
    type Tweak = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(Tweak, &str)> = vec![
        (
            Box::new(|c| c.comfyui.models[0].inputs.image = "99.image".into()),
            "comfyui.models[0].inputs.image: node \"99\" is not in the workflow",
        ),
        (
            Box::new(|c| c.comfyui.models[0].workflow = "workflows/missing.json".into()),
            "comfyui.models[0].workflow: cannot read",
        ),
        (
            Box::new(|c| c.comfyui.servers.clear()),
            "comfyui.servers: [[comfyui.models]] are configured but there is no [[comfyui.servers]]",
        ),
        (
            Box::new(|c| c.comfyui.models[0].name = "AkoolImage2VideoFastV1".into()),
            "comfyui.models[0].name: \"AkoolImage2VideoFastV1\" is a built-in model's name",
        ),
    ];
    for (tweak, expected) in cases {
        let mut config = Config::default();
        base(&mut config);
        tweak(&mut config);
        let err = match App::build(config).await {
            Ok(_) => panic!("started with a bad config; expected {expected}"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains(expected), "{err}");
    }
}

/// The README's example configuration loads, and both shipped workflows pass the start-up
/// checks with it.
#[test]
fn the_readme_configuration_starts_with_the_shipped_workflows() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split("## Real AI video with ComfyUI")
        .nth(1)
        .expect("the README section");
    let toml = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block in the section");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("i2v.toml");
    std::fs::write(&file, toml).unwrap();
    let loaded = i2v::config::Sources {
        file: Some(&file),
        ..Default::default()
    }
    .load();
    let mut config = loaded.unwrap().config;
    assert_eq!(config.comfyui.base_dir.as_deref(), Some(dir.path()));
    // The workflows are at the repository's root, not beside this copy of the file.
    config.comfyui.base_dir = Some(repo_root());
    let renderer = i2v::render::renderer_for(&config).expect("the README config starts");
    let catalogue = renderer.catalogue();
    for (name, fps) in [("Wan2.2-I2V", 24), ("LTXV-I2V", 24)] {
        assert!(catalogue.model(name).is_some(), "{name}");
        assert_eq!(renderer.fps(name), fps);
    }
    assert_eq!(
        renderer.fps("AkoolImage2VideoFastV1"),
        24,
        "built-in models stay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_shutting_down_stops_the_comfyui_job_and_hands_the_video_back() {
    let comfy = fake(Mode::NeverFinishes, 50).await;
    require_ffmpeg();
    let assets = spawn_assets().await;
    let app = spawn_with(|c| {
        with_comfyui(c, &[&comfy], 600);
        c.workers = Some(0);
    })
    .await;
    let me = app.create_account(100).await;
    let ids = create(&app, &me, order(&assets, 1)).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(i2v::jobs::run_worker(
        app.app.clone(),
        "w".into(),
        stop.clone(),
    ));
    until_seen(&comfy, "the prompt", |s| !s.prompts.is_empty()).await;
    stop.cancel();
    worker.await.unwrap();
    until_seen(&comfy, "the interrupt", |s| !s.interrupts.is_empty()).await;
    let answer = app.results(&me, &ids[0]).await;
    assert_eq!(
        answer["data"]["result"][0]["status"], 1,
        "back in the queue: {answer}"
    );
}
