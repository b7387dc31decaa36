//! The flags of `i2v client` and its verbs (clap derive). The names are a public contract:
//! `AKOOL_API_HOST`, `AKOOL_API_KEY`, `AKOOL_CLIENT_ID`, `AKOOL_CLIENT_SECRET` and every long flag.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Akool's public API host, the default `--base-url`.
pub const AKOOL_API_HOST: &str = "https://openapi.akool.com";

#[derive(Args, Debug)]
pub struct ClientArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub verb: Verb,
}

/// Where the API is and who is calling. Secrets are never printed (their env values are hidden
/// from `--help` too).
#[derive(Args, Clone)]
pub struct Connection {
    /// Base URL of the API: Akool's, or an i2v server's (e.g. http://127.0.0.1:8080).
    #[arg(long, env = "AKOOL_API_HOST", default_value = AKOOL_API_HOST, global = true)]
    pub base_url: String,
    /// API key, sent as `x-api-key` (i2v: the account's clientSecret).
    #[arg(long, env = "AKOOL_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
    /// Client id, exchanged with --client-secret through getToken for a bearer token.
    #[arg(long, env = "AKOOL_CLIENT_ID", global = true)]
    pub client_id: Option<String>,
    /// Client secret, exchanged with --client-id through getToken for a bearer token.
    #[arg(
        long,
        env = "AKOOL_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub client_secret: Option<String>,
    /// Seconds one request may take before it counts as a network error (and is retried).
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds, global = true)]
    pub timeout: f64,
    /// Attempts per request before giving up on network errors, HTTP 429/5xx and code 2001.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub attempts: u32,
    /// First retry delay in milliseconds; it doubles each attempt (up to 30 s), with jitter.
    #[arg(long, default_value_t = 250, global = true)]
    pub retry_delay_ms: u64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field(
                "base_url",
                &super::shown_url::shown_url_text(&self.base_url),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Args, Clone, Debug)]
pub struct OutputArgs {
    /// Machine-readable output on stdout: one JSON object a line (one per id outcome), then a
    /// summary line.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress and no human-readable report; errors still go to stderr, and --json lines
    /// still go to stdout.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Seconds between progress lines when stderr is not a terminal.
    #[arg(long, default_value_t = 5.0, value_parser = positive_seconds, global = true)]
    pub progress_every: f64,
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// Delete videos by id, in batches, with retries; resumable with --state.
    Delete(DeleteArgs),
    /// Create one video from flags, or one per row of --csv.
    Create(CreateArgs),
    /// Show videos by id; --wait until they finish, --download their MP4s.
    Results(ResultsArgs),
    /// List the image-to-video models (aigModel/list).
    Models,
    /// List the effect presets (image2Video/effects).
    Effects,
    /// Show the credit balance (quota/info).
    Credits,
    /// Exchange --client-id and --client-secret for a bearer token and print it.
    Token,
}

/// Where ids come from: arguments (`-` reads stdin) and --ids-file.
#[derive(Args, Clone, Debug)]
pub struct IdsArgs {
    /// Video ids; comma-separated lists work too, and `-` reads them from stdin.
    pub ids: Vec<String>,
    /// File of ids, one a line or comma-separated (`-`: stdin); blank lines and `#` comments
    /// are skipped.
    #[arg(long)]
    pub ids_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub ids: IdsArgs,
    /// Ids per delbyids call (1 to 100, the server's limit).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub batch_size: u16,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Videos still processing are polled until they finish, then deleted.
    #[arg(long)]
    pub wait_processing: bool,
    /// Seconds between polls of processing videos (with --wait-processing).
    #[arg(long, default_value_t = 5.0, value_parser = positive_seconds)]
    pub poll_interval: f64,
    /// Give up waiting for processing videos after this many seconds (default: no limit).
    #[arg(long, value_parser = positive_seconds)]
    pub wait_timeout: Option<f64>,
    /// File recording every id's outcome as it is known; a re-run with the same file skips ids
    /// already deleted or not found.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// One video per row; the header names the API's fields (image_url, prompt, resolution,
    /// video_length, audio_type, ...). Rows with model_name, count or last_image_url use the
    /// batch endpoint.
    #[arg(long, conflicts_with_all = ["image_url", "prompt"])]
    pub csv: Option<PathBuf>,
    /// Source image URL (one video from flags).
    #[arg(long, required_unless_present = "csv")]
    pub image_url: Option<String>,
    /// What should happen in the video.
    #[arg(long)]
    pub prompt: Option<String>,
    /// What should not.
    #[arg(long)]
    pub negative_prompt: Option<String>,
    /// 720p, 1080p or 4k (as the model allows).
    #[arg(long, default_value = "720p")]
    pub resolution: String,
    /// Seconds of video (as the model allows).
    #[arg(long, default_value_t = 5)]
    pub video_length: i64,
    /// 1 generated, 2 from --audio-url, 3 none.
    #[arg(long, default_value_t = 3)]
    pub audio_type: i64,
    /// Audio file URL (with --audio-type 2).
    #[arg(long)]
    pub audio_url: Option<String>,
    /// Effect preset (see `i2v client effects`).
    #[arg(long)]
    pub effect_code: Option<String>,
    /// URL the server calls back when the video changes status.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Model (see `i2v client models`); uses the batch endpoint.
    #[arg(long)]
    pub model_name: Option<String>,
    /// How many videos of this spec (batch endpoint).
    #[arg(long)]
    pub count: Option<i64>,
    /// Poll until every created video has finished.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between polls (with --wait).
    #[arg(long, default_value_t = 5.0, value_parser = positive_seconds)]
    pub poll_interval: f64,
    /// Also write the created ids to this file, one a line (appended as they come).
    #[arg(long)]
    pub ids_out: Option<PathBuf>,
    /// Create calls in flight at once (with --csv).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

#[derive(Args, Debug)]
pub struct ResultsArgs {
    #[command(flatten)]
    pub ids: IdsArgs,
    /// Poll until every video is final (completed, failed or gone).
    #[arg(long)]
    pub wait: bool,
    /// Seconds between polls (with --wait).
    #[arg(long, default_value_t = 5.0, value_parser = positive_seconds)]
    pub poll_interval: f64,
    /// Save each completed video as DIR/<id>.mp4 (resumed from DIR/<id>.mp4.part, size-checked).
    #[arg(long)]
    pub download: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 * 30.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds above 0")),
    }
}
