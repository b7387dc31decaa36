//! `[comfyui]`: ComfyUI servers that render the models of `[[comfyui.models]]` (real AI video
//! behind the Akool API). The key names are a public contract (operators' config files); see
//! docs/configuration.md and the README section "Real AI video with ComfyUI".
//!
//! Checked here: the shape (servers for the models, URLs, limits, unique names). What needs the
//! workflow files (input nodes, the output node) is checked when the render backend is built
//! from this, at start-up too (`render::comfyui::ComfyUiRenderer::from_config`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize, Serializer};

use super::duration;
use super::error::{invalid, ConfigError};
use super::secret::REDACTED;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComfyUi {
    pub servers: Vec<ComfyServer>,
    pub models: Vec<ComfyModel>,
    /// Upper bound on one HTTP call to a server (upload, queue, history, download).
    #[serde(rename = "request_timeout_secs", with = "duration::secs")]
    pub request_timeout: Duration,
    /// How often `/history` is read while the progress websocket is down.
    #[serde(rename = "history_poll_ms", with = "duration::millis")]
    pub history_poll: Duration,
    /// How long a server that failed (refused, 5xx) is passed over.
    #[serde(rename = "server_cooldown_secs", with = "duration::secs")]
    pub server_cooldown: Duration,
    /// Largest output file fetched from `/view`.
    pub max_output_bytes: u64,
    /// Where relative `workflow` paths start: the config file's directory (set by the loader;
    /// the working directory when there is no file).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

impl Default for ComfyUi {
    fn default() -> Self {
        ComfyUi {
            servers: Vec::new(),
            models: Vec::new(),
            request_timeout: Duration::from_secs(60),
            history_poll: Duration::from_millis(2_000),
            server_cooldown: Duration::from_secs(30),
            max_output_bytes: 1024 * 1024 * 1024,
            base_dir: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComfyServer {
    /// Base URL (`http://10.0.0.5:8188`); operator-configured, so a private address is fine.
    pub url: String,
    /// Jobs this server runs at once.
    #[serde(default = "one")]
    pub max_jobs: usize,
    /// Sent with every request to this server (an `Authorization` for a proxy, say); the values
    /// never print.
    #[serde(default, serialize_with = "redacted_values")]
    pub headers: BTreeMap<String, SecretString>,
}

fn one() -> usize {
    1
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComfyModel {
    /// `model_name` in create requests, `value` in `aigModel/list`.
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub provider: String,
    /// The workflow in ComfyUI's API format ("Save (API)"), relative to the config file.
    pub workflow: PathBuf,
    /// The node whose output file is the video.
    pub output_node: String,
    /// Offered resolutions, each with its price in credits per second.
    pub resolutions: BTreeMap<String, i64>,
    #[serde(default = "five_seconds")]
    pub durations: Vec<i64>,
    /// Frames per second the model generates (and the output keeps).
    #[serde(default = "sixteen")]
    pub fps: u32,
    #[serde(default)]
    pub supported_last_frame: bool,
    /// A job still running after this long is interrupted and the video fails (refunded).
    #[serde(default = "half_an_hour")]
    pub timeout_secs: u64,
    #[serde(default)]
    pub inputs: ComfyInputs,
}

fn five_seconds() -> Vec<i64> {
    vec![5]
}

fn sixteen() -> u32 {
    16
}

fn half_an_hour() -> u64 {
    1_800
}

/// `"node id.input name"` for each value i2v fills in; empty where the workflow has no such
/// input (its own value then stands).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComfyInputs {
    pub image: String,
    pub last_image: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub width: String,
    pub height: String,
    pub frames: String,
    pub fps: String,
    pub seed: String,
}

impl ComfyInputs {
    /// Each input with its key name, for filling and for messages.
    pub fn named(&self) -> [(&'static str, &str); 9] {
        [
            ("image", &self.image),
            ("last_image", &self.last_image),
            ("prompt", &self.prompt),
            ("negative_prompt", &self.negative_prompt),
            ("width", &self.width),
            ("height", &self.height),
            ("frames", &self.frames),
            ("fps", &self.fps),
            ("seed", &self.seed),
        ]
    }
}

fn redacted_values<S: Serializer>(
    headers: &BTreeMap<String, SecretString>,
    out: S,
) -> Result<S::Ok, S::Error> {
    out.collect_map(headers.keys().map(|name| (name, REDACTED)))
}

impl ComfyUi {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.models.is_empty() && self.servers.is_empty() {
            return Ok(());
        }
        if self.servers.is_empty() {
            return invalid(
                "comfyui.servers: [[comfyui.models]] are configured but there is no [[comfyui.servers]] to render them",
            );
        }
        if self.models.is_empty() {
            return invalid(
                "comfyui.models: [[comfyui.servers]] are configured but no [[comfyui.models]] uses them",
            );
        }
        if self.request_timeout.is_zero() || self.history_poll.is_zero() {
            return invalid(
                "comfyui.request_timeout_secs and comfyui.history_poll_ms must be positive",
            );
        }
        for (n, server) in self.servers.iter().enumerate() {
            let field = format!("comfyui.servers[{n}]");
            let scheme_ok = url::Url::parse(&server.url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !scheme_ok {
                return invalid(&format!(
                    "{field}.url must be an http:// or https:// URL with a host, not {:?}",
                    server.url
                ));
            }
            if server.max_jobs == 0 {
                return invalid(&format!("{field}.max_jobs must be at least 1"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (n, model) in self.models.iter().enumerate() {
            let field = format!("comfyui.models[{n}]");
            if model.name.trim().is_empty() {
                return invalid(&format!("{field}.name must not be empty"));
            }
            if !names.insert(model.name.as_str()) {
                return invalid(&format!(
                    "{field}.name: {:?} is configured twice",
                    model.name
                ));
            }
            if model.output_node.trim().is_empty() {
                return invalid(&format!("{field}.output_node must name a node"));
            }
            if model.resolutions.is_empty() || model.resolutions.values().any(|c| *c < 0) {
                return invalid(&format!(
                    "{field}.resolutions must offer at least one resolution, each at 0 or more credits per second"
                ));
            }
            if model.durations.is_empty() || model.durations.iter().any(|d| !(1..=60).contains(d)) {
                return invalid(&format!(
                    "{field}.durations must list lengths from 1 to 60 seconds"
                ));
            }
            if !(1..=120).contains(&model.fps) {
                return invalid(&format!("{field}.fps must be between 1 and 120"));
            }
            if model.timeout_secs == 0 {
                return invalid(&format!("{field}.timeout_secs must be positive"));
            }
            if model.inputs.image.trim().is_empty() {
                return invalid(&format!(
                    "{field}.inputs.image must name the workflow's image input (\"node id.input name\")"
                ));
            }
        }
        Ok(())
    }

    /// `path` as configured, relative to the config file's directory.
    pub fn workflow_path(&self, path: &std::path::Path) -> PathBuf {
        match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        }
    }
}
