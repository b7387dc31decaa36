//! One ComfyUI server's HTTP API, as its `server.py` serves it: `POST /upload/image`,
//! `POST /prompt`, `GET /history/{prompt_id}`, `GET /view`, `POST /interrupt`, `POST /queue`.
//!
//! Failures are sorted as the worker needs them: [`ComfyError::Down`] (refused, 5xx, 429,
//! timeouts: another server or a later attempt may succeed) and [`ComfyError::Rejected`] (the
//! server answered that this job cannot run: `node_errors`, an execution error).

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use url::Url;

use crate::config::ComfyServer;

#[derive(Debug, thiserror::Error)]
pub enum ComfyError {
    /// The server cannot take or finish the job now (a passing fault).
    #[error("{0}")]
    Down(String),
    /// The server refused or failed the job itself; the message is shown as `error_reason`.
    #[error("{0}")]
    Rejected(String),
}

/// A file a node wrote, as `/history` and `/view` name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub filename: String,
    pub subfolder: String,
    pub kind: String,
}

/// What `/history/{prompt_id}` says of a prompt.
#[derive(Debug, PartialEq)]
pub enum HistoryState {
    /// Not in the history yet: queued or running.
    Pending,
    /// Finished; the files of the output node (may be empty if the node wrote none).
    Succeeded(Vec<OutputFile>),
    /// Finished with an error; the reason from its `execution_error` message.
    Failed(String),
    /// Interrupted (by us or by someone at the server).
    Interrupted,
}

#[derive(Clone, Debug)]
pub struct ComfyClient {
    base: Url,
    /// What logs and reasons show: scheme, host and port, no userinfo, path or query.
    pub label: String,
    http: reqwest::Client,
    headers: HeaderMap,
}

impl ComfyClient {
    pub fn new(
        server: &ComfyServer,
        http: reqwest::Client,
        field: &str,
    ) -> Result<ComfyClient, String> {
        let mut base =
            Url::parse(&server.url).map_err(|e| format!("{field}.url: not a URL: {e}"))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let label = format!(
            "{}://{}{}",
            base.scheme(),
            base.host_str().unwrap_or(""),
            base.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let mut headers = HeaderMap::new();
        for (name, value) in &server.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{field}.headers: {name:?} is not a header name"))?;
            let mut value = HeaderValue::from_str(value.expose_secret())
                .map_err(|_| format!("{field}.headers.{name}: not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Ok(ComfyClient {
            base,
            label,
            http,
            headers,
        })
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("a relative path joins")
    }

    /// The progress websocket for `client_id`, with this server's headers.
    pub fn websocket_request(
        &self,
        client_id: &str,
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, ComfyError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut url = self.url("ws");
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .expect("ws and wss are valid schemes");
        url.query_pairs_mut().append_pair("clientId", client_id);
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| self.fault("opening the progress socket", e))?;
        request.headers_mut().extend(self.headers.clone());
        Ok(request)
    }

    /// Uploads an image to the server's input folder; the name to put in a `LoadImage` node.
    pub async fn upload_image(&self, name: &str, bytes: Bytes) -> Result<String, ComfyError> {
        let part = reqwest::multipart::Part::stream(bytes).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new()
            .part("image", part)
            .text("type", "input")
            .text("overwrite", "true");
        let response = self
            .http
            .post(self.url("upload/image"))
            .headers(self.headers.clone())
            .multipart(form)
            .send()
            .await
            .map_err(|e| self.down("uploading the image", e))?;
        let body = self.json("uploading the image", response).await?;
        let file = body["name"].as_str().unwrap_or_default();
        if file.is_empty() {
            return Err(ComfyError::Down(format!(
                "{}: the image upload answered without a file name",
                self.label
            )));
        }
        Ok(match body["subfolder"].as_str().unwrap_or_default() {
            "" => file.to_owned(),
            sub => format!("{sub}/{file}"),
        })
    }

    /// Queues `prompt` (an API-format graph); its `prompt_id`. A graph the server's validation
    /// refuses is `Rejected` with the node errors in words.
    pub async fn queue_prompt(
        &self,
        prompt: &Value,
        client_id: &str,
    ) -> Result<String, ComfyError> {
        let response = self
            .http
            .post(self.url("prompt"))
            .headers(self.headers.clone())
            .json(&json!({"prompt": prompt, "client_id": client_id}))
            .send()
            .await
            .map_err(|e| self.down("queueing the workflow", e))?;
        if response.status() == StatusCode::BAD_REQUEST {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            return Err(ComfyError::Rejected(validation_reason(&body)));
        }
        let body = self.json("queueing the workflow", response).await?;
        let errors = &body["node_errors"];
        if errors.as_object().is_some_and(|e| !e.is_empty()) {
            return Err(ComfyError::Rejected(validation_reason(&body)));
        }
        match body["prompt_id"].as_str() {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(ComfyError::Down(format!(
                "{}: /prompt answered without a prompt_id",
                self.label
            ))),
        }
    }

    /// Where `prompt_id` stands, from `/history/{prompt_id}`.
    pub async fn history(
        &self,
        prompt_id: &str,
        output_node: &str,
    ) -> Result<HistoryState, ComfyError> {
        let response = self
            .http
            .get(self.url(&format!("history/{prompt_id}")))
            .headers(self.headers.clone())
            .send()
            .await
            .map_err(|e| self.down("reading the history", e))?;
        let body = self.json("reading the history", response).await?;
        Ok(history_state(&body[prompt_id], output_node))
    }

    /// Downloads an output file, at most `max_bytes`.
    pub async fn view(&self, file: &OutputFile, max_bytes: u64) -> Result<Bytes, ComfyError> {
        let mut url = self.url("view");
        url.query_pairs_mut()
            .append_pair("filename", &file.filename)
            .append_pair("subfolder", &file.subfolder)
            .append_pair("type", &file.kind);
        let response = self
            .http
            .get(url)
            .headers(self.headers.clone())
            .send()
            .await
            .map_err(|e| self.down("downloading the output", e))?;
        let response = self.success("downloading the output", response)?;
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.down("downloading the output", e))?;
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(ComfyError::Rejected(format!(
                    "the generated video is larger than {max_bytes} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }

    /// Stops `prompt_id`: interrupts it if running and takes it out of the queue if waiting.
    /// Best effort; failures are logged.
    pub async fn cancel(&self, prompt_id: &str) {
        let calls = [
            ("interrupt", json!({"prompt_id": prompt_id})),
            ("queue", json!({"delete": [prompt_id]})),
        ];
        for (path, body) in calls {
            let sent = self
                .http
                .post(self.url(path))
                .headers(self.headers.clone())
                .json(&body)
                .send()
                .await;
            if let Err(e) = sent.map_err(|e| e.to_string()).and_then(|r| {
                r.error_for_status()
                    .map(drop)
                    .map_err(|e| e.without_url().to_string())
            }) {
                tracing::warn!(server = %self.label, prompt_id, path, error = %e, "cancelling a ComfyUI job failed");
            }
        }
    }

    /// A failed call as a passing fault. reqwest's message would name the URL, userinfo and
    /// query included: `without_url` drops it, and ours names the server by its label.
    fn down(&self, stage: &str, e: reqwest::Error) -> ComfyError {
        self.fault(stage, e.without_url())
    }

    fn fault(&self, stage: &str, e: impl std::fmt::Display) -> ComfyError {
        ComfyError::Down(format!("{}: {stage} failed: {e}", self.label))
    }

    fn success(&self, stage: &str, response: Response) -> Result<Response, ComfyError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(ComfyError::Down(format!(
            "{}: {stage} failed: HTTP {}",
            self.label,
            status.as_u16()
        )))
    }

    async fn json(&self, stage: &str, response: Response) -> Result<Value, ComfyError> {
        let response = self.success(stage, response)?;
        response.json().await.map_err(|e| self.down(stage, e))
    }
}

/// A reqwest client for operator-configured servers: private addresses are fine (no outbound
/// policy), redirects are not followed, and every call is bounded by `timeout`.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client builds")
}

/// `node_errors` of a refused prompt in words: "workflow refused by ComfyUI: node 52
/// (LoadImage): Invalid image file: i2v-x.png".
pub fn validation_reason(body: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(nodes) = body["node_errors"].as_object() {
        for (node, report) in nodes {
            let class = report["class_type"].as_str().unwrap_or("?");
            let errors: Vec<String> = report["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let message = e["message"].as_str().unwrap_or("error");
                    match e["details"].as_str() {
                        Some(details) if !details.is_empty() => format!("{message}: {details}"),
                        _ => message.to_owned(),
                    }
                })
                .collect();
            parts.push(format!("node {node} ({class}): {}", errors.join("; ")));
        }
    }
    if parts.is_empty() {
        let error = &body["error"];
        let message = error["message"]
            .as_str()
            .or_else(|| error.as_str())
            .unwrap_or("invalid prompt");
        match error["details"].as_str() {
            Some(details) if !details.is_empty() => parts.push(format!("{message}: {details}")),
            _ => parts.push(message.to_owned()),
        }
    }
    limit(format!(
        "workflow refused by ComfyUI: {}",
        parts.join(" | ")
    ))
}

/// The reason of an `execution_error` message (from the websocket or the history).
pub fn execution_reason(data: &Value) -> String {
    let node = data["node_id"].as_str().unwrap_or("?");
    let class = data["node_type"].as_str().unwrap_or("?");
    let kind = data["exception_type"].as_str().unwrap_or("error");
    let message = data["exception_message"].as_str().unwrap_or("").trim();
    limit(format!(
        "ComfyUI failed at node {node} ({class}): {kind}: {message}"
    ))
}

/// Reasons are shown to API users: one line, bounded.
fn limit(reason: String) -> String {
    let line = reason.replace(['\n', '\r'], " ");
    match line.char_indices().nth(500) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

fn history_state(entry: &Value, output_node: &str) -> HistoryState {
    if !entry.is_object() {
        return HistoryState::Pending;
    }
    let status = &entry["status"];
    let messages = status["messages"].as_array().cloned().unwrap_or_default();
    let event = |name: &str| {
        messages
            .iter()
            .find(|m| m[0].as_str() == Some(name))
            .map(|m| m[1].clone())
    };
    if let Some(error) = event("execution_error") {
        return HistoryState::Failed(execution_reason(&error));
    }
    if event("execution_interrupted").is_some() {
        return HistoryState::Interrupted;
    }
    match status["status_str"].as_str() {
        Some("error") => {
            return HistoryState::Failed("ComfyUI reported the job as failed".into());
        }
        Some("success") => {}
        // Older servers write no status; outputs present mean done.
        _ if status["completed"].as_bool() == Some(false) => return HistoryState::Pending,
        _ => {}
    }
    HistoryState::Succeeded(output_files(&entry["outputs"][output_node]))
}

/// The files a node's UI output lists (`SaveVideo` and `SaveImage` write `images`, older video
/// nodes `gifs` or `videos`): videos first, in order.
pub fn output_files(output: &Value) -> Vec<OutputFile> {
    let Some(lists) = output.as_object() else {
        return Vec::new();
    };
    let mut files: Vec<OutputFile> = lists
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|item| {
            Some(OutputFile {
                filename: item["filename"].as_str()?.to_owned(),
                subfolder: item["subfolder"].as_str().unwrap_or("").to_owned(),
                kind: item["type"].as_str().unwrap_or("output").to_owned(),
            })
        })
        .collect();
    let is_video = |f: &OutputFile| {
        let name = f.filename.to_ascii_lowercase();
        [".mp4", ".webm", ".mkv", ".mov", ".gif"]
            .iter()
            .any(|ext| name.ends_with(ext))
    };
    files.sort_by_key(|f| !is_video(f));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_node_and_what_is_wrong() {
        let body = json!({
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
            "node_errors": {"52": {"errors": [{"type": "custom_validation_failed", "message": "Custom validation failed for node", "details": "image - Invalid image file: x.png", "extra_info": {}}], "dependent_outputs": ["58"], "class_type": "LoadImage"}}
        });
        assert_eq!(
            validation_reason(&body),
            "workflow refused by ComfyUI: node 52 (LoadImage): Custom validation failed for node: image - Invalid image file: x.png"
        );
        let body = json!({"error": {"type": "invalid_prompt", "message": "Cannot execute because node Foo does not exist.", "details": "Node ID '#9'", "extra_info": {}}, "node_errors": {}});
        assert_eq!(
            validation_reason(&body),
            "workflow refused by ComfyUI: Cannot execute because node Foo does not exist.: Node ID '#9'"
        );
    }

    #[test]
    fn history_tells_pending_success_failure_and_interruption() {
        assert_eq!(history_state(&Value::Null, "58"), HistoryState::Pending);
        let done = json!({
            "outputs": {"58": {"images": [{"filename": "i2v_00001_.mp4", "subfolder": "video", "type": "output"}], "animated": [true]}},
            "status": {"status_str": "success", "completed": true, "messages": [["execution_start", {}], ["execution_success", {}]]}
        });
        assert_eq!(
            history_state(&done, "58"),
            HistoryState::Succeeded(vec![OutputFile {
                filename: "i2v_00001_.mp4".into(),
                subfolder: "video".into(),
                kind: "output".into()
            }])
        );
        let failed = json!({"outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [
            ["execution_error", {"prompt_id": "p", "node_id": "3", "node_type": "KSampler", "exception_type": "torch.OutOfMemoryError", "exception_message": "CUDA out of memory.\nTried to allocate", "traceback": []}]
        ]}});
        assert_eq!(
            history_state(&failed, "58"),
            HistoryState::Failed(
                "ComfyUI failed at node 3 (KSampler): torch.OutOfMemoryError: CUDA out of memory. Tried to allocate".into()
            )
        );
        let stopped = json!({"outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [["execution_interrupted", {}]]}});
        assert_eq!(history_state(&stopped, "58"), HistoryState::Interrupted);
    }

    #[test]
    fn videos_come_before_other_files() {
        let output = json!({"images": [{"filename": "a.png", "subfolder": "", "type": "temp"}], "gifs": [{"filename": "a.webm", "subfolder": "", "type": "output"}]});
        let files = output_files(&output);
        assert_eq!(files[0].filename, "a.webm");
        assert_eq!(files.len(), 2);
    }

    #[tokio::test]
    async fn labels_and_reasons_carry_no_userinfo_path_or_query() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let server = ComfyServer {
            url: format!("http://user:pw@127.0.0.1:{port}/comfy?token=x"),
            max_jobs: 1,
            headers: Default::default(),
        };
        let client = ComfyClient::new(&server, reqwest::Client::new(), "s").unwrap();
        assert_eq!(client.label, format!("http://127.0.0.1:{port}"));
        let e = client.history("p", "58").await.unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "http://127.0.0.1:{port}: reading the history failed: "
            )),
            "{e}"
        );
        for leak in ["pw", "token", "/comfy", "/history"] {
            assert!(!e.contains(leak), "{leak:?} in {e:?}");
        }
    }
}
