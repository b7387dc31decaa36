use std::path::Path;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

/// Loads `toml` (when given) with these variables and flags, and nothing from the process.
fn load_with(
    toml: Option<&str>,
    env: &[(&str, &str)],
    flags: Overrides,
) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i2v.toml");
    if let Some(text) = toml {
        std::fs::write(&path, text).unwrap();
    }
    Sources {
        file: toml.map(|_| path.as_path()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        flags,
        ..Sources::default()
    }
    .load()
}

fn load_file(toml: &str) -> Result<Config, ConfigError> {
    load_with(Some(toml), &[], Overrides::default()).map(|l| l.config)
}

#[test]
fn flags_and_env_beat_the_file_which_beats_defaults() {
    let toml = "listen = \"127.0.0.1:9000\"\nworkers = 3\n[limits]\nids_per_call = 7\n";
    let flags = Overrides {
        workers: Some(0),
        ..Default::default()
    };
    let config = load_with(Some(toml), &[], flags).unwrap().config;
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.workers, Some(0));
    assert_eq!(config.limits.ids_per_call, 7);
    assert_eq!(config.limits.max_body_bytes, 1024 * 1024);
}

#[test]
fn precedence_is_file_then_env_then_flag() {
    let toml = "workers = 3\npublic_url = \"http://file\"\n[jobs]\npoll_ms = 7\nlease_ms = 90000\n";
    let env = [
        ("I2V_WORKERS", "4"),
        ("I2V_PUBLIC_URL", "http://env"),
        ("I2V_JOBS__POLL_MS", "8"),
    ];
    let flags = Overrides {
        workers: Some(5),
        ..Default::default()
    };
    let loaded = load_with(Some(toml), &env, flags).unwrap();
    let config = &loaded.config;
    assert_eq!(config.workers, Some(5), "a flag beats env and file");
    assert_eq!(config.public_url(), "http://env", "env beats the file");
    assert_eq!(
        config.jobs.poll,
        Duration::from_millis(8),
        "env beats the file"
    );
    assert_eq!(
        config.jobs.lease,
        Duration::from_secs(90),
        "the file beats defaults"
    );
    assert_eq!(config.jobs.heartbeat, Duration::from_secs(15), "a default");
    let origin = |key: &str| loaded.origins.of(key).unwrap().to_string();
    assert_eq!(origin("workers"), "flag --workers");
    assert_eq!(origin("public_url"), "env I2V_PUBLIC_URL");
    assert_eq!(origin("jobs.poll_ms"), "env I2V_JOBS__POLL_MS");
    assert!(
        origin("jobs.lease_ms").starts_with("file "),
        "{}",
        origin("jobs.lease_ms")
    );
    assert!(origin("jobs.lease_ms").ends_with("i2v.toml"));
    assert_eq!(origin("jobs.heartbeat_ms"), "default");
    assert_eq!(origin("admin_token"), "default");
    assert_eq!(loaded.origins.of("jobs.no_such_key"), None);
}

#[test]
fn every_key_can_come_from_the_environment() {
    let env = [
        ("I2V_WEBHOOKS__BACKOFF_BASE_MS", "1000"),
        ("I2V_WEBHOOKS__TYPE", "custom"),
        ("I2V_WEBHOOKS__ON_PROCESSING", "false"),
        ("I2V_SERVER__IDLE_TIMEOUT_SECS", "5"),
        ("I2V_RETENTION__DAYS", "0"),
        ("I2V_BLOBS__VIDEO_URLS", "proxy"),
        ("I2V_RENDER__PRESET", "ultrafast"),
        ("I2V_LISTEN", "127.0.0.1:0"),
        ("I2V_ALLOW_PRIVATE_URLS", "true"),
        ("I2V_ADMIN_TOKEN", "0123456789012345678"),
    ];
    let config = load_with(None, &env, Overrides::default()).unwrap().config;
    assert_eq!(config.webhooks.backoff_base, Duration::from_secs(1));
    assert_eq!(config.webhooks.kind, "custom");
    assert!(!config.webhooks.on_processing);
    assert_eq!(config.server.idle_timeout, Duration::from_secs(5));
    assert_eq!(config.retention.keep, Duration::ZERO);
    assert_eq!(config.render.preset, "ultrafast");
    assert_eq!(config.listen.port(), 0);
    assert!(config.allow_private_urls);
    let token = config.admin_token.as_ref().map(|t| t.expose_secret());
    assert_eq!(token, Some("0123456789012345678"), "digits stay text");
}

#[test]
fn other_i2v_variables_are_not_settings() {
    let env = [
        ("I2V_CONFIG", "/nowhere.toml"),
        ("I2V_DEV_URL", "http://127.0.0.1:8080"),
        ("I2V_TEST_BACKEND", "postgres"),
        ("I2V_ELSEWHERE__KEY", "1"),
        ("I2V_WORKERS", ""),
        ("OTHER_WORKERS", "9"),
    ];
    let config = load_with(None, &env, Overrides::default()).unwrap().config;
    assert_eq!(config.workers, None);
}

#[test]
fn a_bad_environment_value_names_the_variable_and_the_key() {
    let err = load_with(
        None,
        &[("I2V_WEBHOOKS__BACKOFF_BASE_MS", "soon")],
        Overrides::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("I2V_WEBHOOKS__BACKOFF_BASE_MS"), "{err}");
    assert!(err.contains("webhooks.backoff_base_ms"), "{err}");
    assert!(err.contains("soon"), "{err}");

    let err = load_with(None, &[("I2V_LISTEN", "everywhere")], Overrides::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("I2V_LISTEN") && err.contains("listen"),
        "{err}"
    );

    let err = load_with(
        None,
        &[("I2V_WEBHOOKS__BACKOF_MS", "1000")],
        Overrides::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("I2V_WEBHOOKS__BACKOF_MS"), "{err}");

    let err = load_with(
        None,
        &[("I2V_JOBS__HEARTBEAT_MS", "0")],
        Overrides::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("jobs.heartbeat_ms must be positive"), "{err}");
}

#[test]
fn unknown_keys_in_the_file_are_errors_not_silence() {
    assert!(matches!(
        load_file("lisen = \"127.0.0.1:9000\"\n"),
        Err(ConfigError::Parse { .. })
    ));
}

/// How `i2v` prints it (`{:#}` of the anyhow error): the path, then the cause, once.
fn rendered(err: ConfigError) -> String {
    format!("{:#}", anyhow::Error::from(err))
}

#[test]
fn a_missing_config_file_names_its_path_and_the_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let sources = Sources {
        file: Some(&path),
        ..Sources::default()
    };
    let message = rendered(sources.load().err().unwrap());
    assert!(message.starts_with("cannot read config file "), "{message}");
    assert!(message.contains(&*path.to_string_lossy()), "{message}");
    assert_eq!(message.matches("(os error ").count(), 1, "{message}");
}

#[test]
fn an_unknown_key_is_reported_once() {
    let message = rendered(load_file("lisen = \"127.0.0.1:9000\"\n").unwrap_err());
    assert!(message.starts_with("invalid config file "), "{message}");
    assert_eq!(
        message.matches("unknown field `lisen`").count(),
        1,
        "{message}"
    );
    assert_eq!(message.matches("TOML parse error").count(), 1, "{message}");
}

#[test]
fn durations_keep_their_units_in_the_file() {
    let config = load_file(
        "[jobs]\nlease_ms = 30000\n[outbound]\ntimeout_secs = 60\n[tokens]\nttl_days = 2\n",
    )
    .unwrap();
    assert_eq!(config.jobs.lease, Duration::from_secs(30));
    assert_eq!(config.outbound.timeout, Duration::from_secs(60));
    assert_eq!(config.tokens.ttl, Duration::from_secs(2 * 86_400));
    let printed = config.redacted_toml().unwrap();
    assert!(printed.contains("lease_ms = 30000\n"), "{printed}");
    assert!(printed.contains("ttl_days = 2\n"), "{printed}");
}

#[test]
fn blob_url_comes_from_the_file_unless_a_flag_or_env_says_otherwise() {
    let toml = "blob_url = \"s3://from-file/p\"\n";
    let from_file = load_file(toml).unwrap();
    assert_eq!(
        from_file.blob_location().unwrap(),
        BlobLocation::S3 {
            bucket: "from-file".into(),
            prefix: "p".into()
        }
    );
    let flags = Overrides {
        blob_url: Some("memory://".into()),
        ..Default::default()
    };
    let flagged = load_with(Some(toml), &[], flags).unwrap().config;
    assert_eq!(flagged.blob_location().unwrap(), BlobLocation::Memory);
    let env = [("I2V_BLOB_URL", "memory://")];
    let from_env = load_with(Some(toml), &env, Overrides::default()).unwrap();
    assert_eq!(
        from_env.config.blob_location().unwrap(),
        BlobLocation::Memory
    );
}

#[test]
fn without_blob_url_files_live_in_the_data_dir() {
    let config = Config {
        data_dir: "/srv/i2v".into(),
        ..Config::default()
    };
    assert_eq!(
        config.blob_location().unwrap(),
        BlobLocation::Local("/srv/i2v/blobs".into())
    );
}

#[test]
fn a_bad_blob_url_is_a_start_up_error() {
    let config = Config {
        blob_url: Some("ftp://files".into()),
        ..Config::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("blob_url") && err.contains("s3://BUCKET"),
        "{err}"
    );
}

#[test]
fn presigned_urls_need_s3_and_a_sane_expiry() {
    let config = load_file("[blobs]\n").unwrap();
    assert_eq!(config.blobs.video_urls, VideoUrlMode::Proxy);
    assert_eq!(config.blobs.presign_expiry, Duration::from_secs(3600));

    let err = load_file("[blobs]\nvideo_urls = \"presigned\"\n").unwrap_err();
    assert!(err.to_string().contains("needs S3"), "{err}");
    let err =
        load_file("blob_url = \"memory://\"\n[blobs]\nvideo_urls = \"presigned\"\n").unwrap_err();
    assert!(err.to_string().contains("needs S3"), "{err}");

    let s3 = "blob_url = \"s3://b\"\n[blobs]\nvideo_urls = \"presigned\"\n";
    let config = load_file(&format!("{s3}presign_expiry_secs = 604800\n")).unwrap();
    assert_eq!(config.blobs.video_urls, VideoUrlMode::Presigned);
    for bad in [0, 604_801] {
        let err = load_file(&format!("{s3}presign_expiry_secs = {bad}\n")).unwrap_err();
        assert!(err.to_string().contains("presign_expiry_secs"), "{err}");
    }
    assert!(matches!(
        load_file("[blobs]\nvideo_urls = \"direct\"\n"),
        Err(ConfigError::Parse { .. })
    ));
}

fn with_secrets() -> Config {
    Config {
        admin_token: Some("super-secret-admin-token".into()),
        master_key: Some("00".repeat(32).into()),
        blob_url: Some("s3://AKID:blob-secret@bucket/p".into()),
        database_url: Some("postgres://i2v:db-secret@db/i2v".into()),
        ..Config::default()
    }
}

fn assert_no_secret(text: &str) {
    for secret in [
        "super-secret-admin-token",
        &"00".repeat(32),
        "blob-secret",
        "db-secret",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[test]
fn printing_redacts_secrets() {
    let text = with_secrets().redacted_toml().unwrap();
    assert_no_secret(&text);
    assert!(text.contains("[blobs]") && text.contains("video_urls = \"proxy\""));
    assert!(text.contains("admin_token = \"<redacted>\""), "{text}");
    assert!(text.contains("postgres://i2v:redacted@db/i2v"), "{text}");
}

#[test]
fn secrets_never_show_in_debug() {
    let config = with_secrets();
    let shown = format!("{config:?} {config:#?}");
    assert_no_secret(&shown);
    assert!(shown.contains("REDACTED"), "{shown}");
    assert_no_secret(&format!("{}", config.database_url()));
}

#[test]
fn config_print_says_where_each_value_came_from() {
    let loaded = load_with(
        Some("[render]\nfps = 30\n"),
        &[
            ("I2V_WEBHOOKS__POLL_MS", "250"),
            ("I2V_ADMIN_TOKEN", "an-admin-token-from-env"),
        ],
        Overrides {
            workers: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    let text = loaded.annotated_toml().unwrap();
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start} in {text}"))
            .to_owned()
    };
    assert!(line("workers = 2").ends_with("# flag --workers"), "{text}");
    assert!(line("poll_ms = 250").ends_with("# env I2V_WEBHOOKS__POLL_MS"));
    assert!(line("fps = 30").contains("# file "), "{text}");
    assert!(line("crf = 20").ends_with("# default"), "{text}");
    assert!(line("admin_token = \"<redacted>\"").ends_with("# env I2V_ADMIN_TOKEN"));
    assert!(!text.contains("an-admin-token-from-env"));
    let reread: Config = toml::from_str(&text).expect("the printed file loads as it is");
    assert_eq!(reread.render.fps, 30);
}

/// docs/configuration.md lists every key with its environment variable.
#[test]
fn every_key_is_documented() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let text = std::fs::read_to_string(&docs).unwrap();
    let mut keys = Vec::new();
    // Tables of tables (`[[comfyui.servers]]`) are set in the file only: no variable.
    let mut tables = Vec::new();
    for (name, value) in load::serialized(&Config::default()).unwrap() {
        match value.as_dict() {
            Some(section) => {
                for (key, value) in section {
                    let key = format!("{name}.{key}");
                    match value.as_array() {
                        Some(_) => tables.push(key),
                        None => keys.push(key),
                    }
                }
            }
            None => keys.push(name),
        }
    }
    assert!(keys.len() > 50, "{keys:?}");
    let missing: Vec<String> = keys
        .iter()
        .filter(|key| {
            let var = env::name(&key.split('.').collect::<Vec<_>>());
            !text.contains(&format!("`{key}`")) || !text.contains(&format!("`{var}`"))
        })
        .chain(
            tables
                .iter()
                .filter(|key| !text.contains(&format!("`[[{key}]]`"))),
        )
        .cloned()
        .collect();
    assert!(missing.is_empty(), "not in {}: {missing:?}", docs.display());
}

const COMFYUI: &str = r#"
[comfyui]
history_poll_ms = 500

[[comfyui.servers]]
url = "http://10.0.0.5:8188"
max_jobs = 2
headers = { Authorization = "Bearer proxy-secret-123" }

[[comfyui.servers]]
url = "http://10.0.0.6:8188"

[[comfyui.models]]
name = "Wan2.2-I2V"
label = "Wan 2.2 Image to Video"
provider = "wan"
workflow = "workflows/wan22_i2v.json"
output_node = "58"
resolutions = { "480p" = 4, "720p" = 6 }
durations = [5]
fps = 16
supported_last_frame = false
timeout_secs = 1800
[comfyui.models.inputs]
image = "52.image"
last_image = ""
prompt = "6.text"
negative_prompt = "7.text"
width = "50.width"
height = "50.height"
frames = "50.length"
fps = ""
seed = "3.seed"
"#;

#[test]
fn comfyui_servers_and_models_read_with_the_documented_names() {
    let loaded = load_with(
        Some(COMFYUI),
        &[("I2V_COMFYUI__REQUEST_TIMEOUT_SECS", "5")],
        Overrides::default(),
    )
    .unwrap();
    let comfyui = &loaded.config.comfyui;
    assert_eq!(comfyui.servers.len(), 2);
    assert_eq!(comfyui.servers[0].max_jobs, 2);
    assert_eq!(comfyui.servers[1].max_jobs, 1, "max_jobs defaults to 1");
    assert_eq!(
        comfyui.servers[0].headers["Authorization"].expose_secret(),
        "Bearer proxy-secret-123"
    );
    assert_eq!(comfyui.request_timeout, Duration::from_secs(5));
    assert_eq!(comfyui.history_poll, Duration::from_millis(500));
    let model = &comfyui.models[0];
    assert_eq!(
        (model.name.as_str(), model.fps, model.timeout_secs),
        ("Wan2.2-I2V", 16, 1800)
    );
    assert_eq!(model.resolutions["480p"], 4);
    assert_eq!(model.inputs.frames, "50.length");
    // Workflows are found beside the config file.
    let base = comfyui
        .base_dir
        .as_ref()
        .expect("the config file's directory");
    assert_eq!(
        comfyui.workflow_path(Path::new("workflows/wan22_i2v.json")),
        base.join("workflows/wan22_i2v.json")
    );
    assert_eq!(
        comfyui.workflow_path(Path::new("/srv/w.json")),
        Path::new("/srv/w.json")
    );
    let printed = loaded.config.redacted_toml().unwrap();
    assert!(!printed.contains("proxy-secret-123"), "{printed}");
    assert!(
        printed.contains("Authorization = \"<redacted>\""),
        "{printed}"
    );
}

#[test]
fn comfyui_shapes_that_cannot_work_are_refused_naming_the_key() {
    let cases = [
        (
            COMFYUI.replace("http://10.0.0.6:8188", "ftp://10.0.0.6"),
            "comfyui.servers[1].url must be an http:// or https:// URL",
        ),
        (
            COMFYUI.replace("max_jobs = 2", "max_jobs = 0"),
            "comfyui.servers[0].max_jobs must be at least 1",
        ),
        (
            COMFYUI.replace("image = \"52.image\"", "image = \"\""),
            "comfyui.models[0].inputs.image must name",
        ),
        (
            COMFYUI.replace("durations = [5]", "durations = []"),
            "comfyui.models[0].durations",
        ),
        (
            COMFYUI.replace("fps = 16", "fps = 0"),
            "comfyui.models[0].fps must be between 1 and 120",
        ),
    ];
    for (toml, expected) in &cases {
        let err = load_file(toml).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }
    let models_only = COMFYUI
        .split("[[comfyui.models]]")
        .nth(1)
        .map(|m| format!("[[comfyui.models]]{m}"))
        .unwrap();
    let err = load_file(&models_only).unwrap_err().to_string();
    assert!(
        err.contains("comfyui.servers: [[comfyui.models]] are configured but there is no [[comfyui.servers]]"),
        "{err}"
    );
    let servers_only = COMFYUI.split("[[comfyui.models]]").next().unwrap();
    let err = load_file(servers_only).unwrap_err().to_string();
    assert!(
        err.contains(
            "comfyui.models: [[comfyui.servers]] are configured but no [[comfyui.models]]"
        ),
        "{err}"
    );
}
