//! A fake ComfyUI server on 127.0.0.1:0 that speaks the endpoints and message shapes of
//! ComfyUI's `server.py` (`/upload/image`, `/prompt`, `/history/{id}`, `/view`, `/interrupt`,
//! `/queue`, `/ws?clientId=`), "runs" a prompt by encoding a real small video with ffmpeg at the
//! width, height and length the prompt asks for, and can be told to fail in each way a real one
//! does.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::broadcast;

/// How the fake misbehaves.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Mode {
    #[default]
    Works,
    /// `/prompt` answers 400 with `node_errors` for the image loader.
    NodeErrors,
    /// The prompt runs and fails with an `execution_error` (out of memory at the sampler).
    ExecutionError,
    /// Every endpoint answers 500.
    ServerError,
    /// The websocket closes right after `execution_start`; `/history` still tells the end.
    DropSocket,
    /// The prompt never ends (until interrupted).
    NeverFinishes,
}

/// Where the i2v workflow's values sit (the shipped Wan 2.2 workflow's node ids).
#[derive(Clone, Debug)]
pub struct Layout {
    pub image: (&'static str, &'static str),
    pub width: (&'static str, &'static str),
    pub height: (&'static str, &'static str),
    pub frames: (&'static str, &'static str),
    pub fps: u32,
    pub output_node: &'static str,
}

#[derive(Default)]
pub struct Seen {
    pub uploads: Vec<String>,
    pub prompts: Vec<Value>,
    pub interrupts: Vec<Value>,
    pub queue_deletes: Vec<String>,
    pub sockets: usize,
    /// The `Authorization` header of each `/prompt` request ("" when absent).
    pub authorizations: Vec<String>,
}

struct Inner {
    mode: Mutex<Mode>,
    layout: Layout,
    /// Delay between progress steps.
    step: Duration,
    seen: Mutex<Seen>,
    history: Mutex<HashMap<String, Value>>,
    stopped: Mutex<HashSet<String>>,
    files: PathBuf,
    events: broadcast::Sender<(String, Value)>,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
pub struct FakeComfy {
    pub url: String,
    inner: Arc<Inner>,
}

impl FakeComfy {
    pub async fn start(layout: Layout, mode: Mode, step: Duration) -> FakeComfy {
        let dir = tempfile::tempdir().unwrap();
        let (events, _) = broadcast::channel(256);
        let inner = Arc::new(Inner {
            mode: Mutex::new(mode),
            layout,
            step,
            seen: Mutex::default(),
            history: Mutex::default(),
            stopped: Mutex::default(),
            files: dir.path().to_path_buf(),
            events,
            _dir: dir,
        });
        let router = Router::new()
            .route("/upload/image", post(upload))
            .route("/prompt", post(queue_prompt))
            .route("/history/{id}", get(history))
            .route("/view", get(view))
            .route("/interrupt", post(interrupt))
            .route("/queue", post(queue))
            .route("/ws", get(socket))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FakeComfy { url, inner }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.inner.seen.lock().unwrap())
    }
}

fn mode(state: &Inner) -> Mode {
    state.mode.lock().unwrap().clone()
}

fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "500: Internal Server Error",
    )
        .into_response()
}

/// `POST /upload/image`: multipart with an `image` file part; answers where it was put.
async fn upload(State(state): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if mode(&state) == Mode::ServerError {
        return server_error();
    }
    let is_multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let text = String::from_utf8_lossy(&body);
    let name = text
        .split("name=\"image\"; filename=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next());
    let Some(name) = name.filter(|_| is_multipart) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    state.seen.lock().unwrap().uploads.push(name.to_owned());
    Json(json!({"name": name, "subfolder": "", "type": "input"})).into_response()
}

/// `POST /prompt`: validates like ComfyUI (a `LoadImage` must name an uploaded file), queues,
/// answers `{"prompt_id", "number", "node_errors"}`.
async fn queue_prompt(
    State(state): State<Arc<Inner>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    state
        .seen
        .lock()
        .unwrap()
        .authorizations
        .push(authorization);
    let mode = mode(&state);
    if mode == Mode::ServerError {
        return server_error();
    }
    let prompt = body["prompt"].clone();
    let client_id = body["client_id"].as_str().unwrap_or("").to_owned();
    let (image_node, image_input) = state.layout.image;
    let image = prompt[image_node]["inputs"][image_input]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let uploaded = state.seen.lock().unwrap().uploads.contains(&image);
    if mode == Mode::NodeErrors || !uploaded {
        let error = json!({
            "type": "custom_validation_failed",
            "message": "Custom validation failed for node",
            "details": format!("image - Invalid image file: {image}"),
            "extra_info": {}
        });
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                "node_errors": {image_node: {"errors": [error], "dependent_outputs": [state.layout.output_node], "class_type": "LoadImage"}}
            })),
        )
            .into_response();
    }
    let number = {
        let mut seen = state.seen.lock().unwrap();
        seen.prompts.push(prompt.clone());
        seen.prompts.len()
    };
    let prompt_id = format!("00000000-0000-4000-8000-{number:012}");
    tokio::spawn(run(
        state.clone(),
        prompt_id.clone(),
        client_id,
        prompt,
        mode,
    ));
    Json(json!({"prompt_id": prompt_id, "number": number, "node_errors": {}})).into_response()
}

/// Runs a queued prompt: progress messages, then a real video or a failure.
async fn run(state: Arc<Inner>, prompt_id: String, client_id: String, prompt: Value, mode: Mode) {
    let send = |kind: &str, data: Value| {
        let _ = state
            .events
            .send((client_id.clone(), json!({"type": kind, "data": data})));
    };
    let stopped = || state.stopped.lock().unwrap().contains(&prompt_id);
    let mut messages = vec![json!(["execution_start", {"prompt_id": prompt_id, "timestamp": 0}])];
    send(
        "execution_start",
        json!({"prompt_id": prompt_id, "timestamp": 0}),
    );
    if mode == Mode::DropSocket {
        let _ = state
            .events
            .send((client_id.clone(), json!({"type": "close"})));
    }
    let steps = 4;
    let mut step = 0;
    loop {
        if stopped() {
            let data = json!({"prompt_id": prompt_id, "node_id": "3", "node_type": "KSampler", "executed": [], "timestamp": 0});
            send("execution_interrupted", data.clone());
            messages.push(json!(["execution_interrupted", data]));
            record(&state, &prompt_id, json!({}), "error", messages);
            return;
        }
        if step == steps && mode != Mode::NeverFinishes {
            break;
        }
        send(
            "executing",
            json!({"node": "3", "display_node": "3", "prompt_id": prompt_id}),
        );
        send(
            "progress",
            json!({"value": step.min(steps) + 1, "max": steps, "prompt_id": prompt_id, "node": "3"}),
        );
        step = (step + 1).min(steps);
        tokio::time::sleep(state.step).await;
    }
    if mode == Mode::ExecutionError {
        let data = json!({
            "prompt_id": prompt_id, "node_id": "3", "node_type": "KSampler", "executed": [],
            "exception_message": "Allocation on device would exceed allowed memory.",
            "exception_type": "torch.OutOfMemoryError", "traceback": ["..."],
            "current_inputs": {}, "current_outputs": {}, "timestamp": 0
        });
        send("execution_error", data.clone());
        messages.push(json!(["execution_error", data]));
        record(&state, &prompt_id, json!({}), "error", messages);
        return;
    }
    let layout = &state.layout;
    let value = |(node, input): (&str, &str)| prompt[node]["inputs"][input].as_u64().unwrap_or(0);
    let (width, height, frames) = (
        value(layout.width),
        value(layout.height),
        value(layout.frames),
    );
    let name = format!("i2v_{:05}_.mp4", state.history.lock().unwrap().len() + 1);
    let path = state.files.join(&name);
    let made = tokio::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!(
            "testsrc2=size={width}x{height}:rate={}",
            layout.fps
        ))
        .args([
            "-frames:v",
            &frames.to_string(),
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .arg(&path)
        .status()
        .await
        .unwrap();
    assert!(made.success(), "the fake's ffmpeg failed");
    let files = json!([{"filename": name, "subfolder": "video", "type": "output"}]);
    let output = json!({"images": files, "animated": [true]});
    send(
        "executed",
        json!({"node": layout.output_node, "display_node": layout.output_node, "output": output, "prompt_id": prompt_id}),
    );
    // As ComfyUI does: `execution_success` goes out before the history entry is written, and
    // `executing` of no node after it.
    send(
        "execution_success",
        json!({"prompt_id": prompt_id, "timestamp": 0}),
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    messages.push(json!(["execution_success", {"prompt_id": prompt_id, "timestamp": 0}]));
    record(
        &state,
        &prompt_id,
        json!({layout.output_node: output}),
        "success",
        messages,
    );
    send("executing", json!({"node": null, "prompt_id": prompt_id}));
}

fn record(state: &Inner, prompt_id: &str, outputs: Value, status: &str, messages: Vec<Value>) {
    let entry = json!({
        "prompt": [0, prompt_id, {}, {}, []],
        "outputs": outputs,
        "status": {"status_str": status, "completed": status == "success", "messages": messages},
        "meta": {}
    });
    state
        .history
        .lock()
        .unwrap()
        .insert(prompt_id.to_owned(), entry);
}

/// `GET /history/{prompt_id}`: `{prompt_id: entry}` once it ended, `{}` before.
async fn history(State(state): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    if mode(&state) == Mode::ServerError {
        return server_error();
    }
    let history = state.history.lock().unwrap();
    match history.get(&id) {
        Some(entry) => Json(json!({id: entry})).into_response(),
        None => Json(json!({})).into_response(),
    }
}

/// `GET /view?filename=&subfolder=&type=`: the file's bytes.
async fn view(
    State(state): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if mode(&state) == Mode::ServerError {
        return server_error();
    }
    let name = q.get("filename").cloned().unwrap_or_default();
    if name.contains('/')
        || name.contains("..")
        || q.get("type").map(String::as_str) != Some("output")
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    match tokio::fs::read(state.files.join(&name)).await {
        Ok(bytes) => ([("content-type", "video/mp4")], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `POST /interrupt` (`{"prompt_id"}` interrupts that prompt only, as newer servers do).
async fn interrupt(State(state): State<Arc<Inner>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(id) = body["prompt_id"].as_str() {
        state.stopped.lock().unwrap().insert(id.to_owned());
    }
    state.seen.lock().unwrap().interrupts.push(body);
    StatusCode::OK.into_response()
}

/// `POST /queue` with `{"delete": [prompt ids]}`.
async fn queue(State(state): State<Arc<Inner>>, Json(body): Json<Value>) -> Response {
    for id in body["delete"].as_array().into_iter().flatten() {
        if let Some(id) = id.as_str() {
            state.stopped.lock().unwrap().insert(id.to_owned());
            state.seen.lock().unwrap().queue_deletes.push(id.to_owned());
        }
    }
    StatusCode::OK.into_response()
}

/// `GET /ws?clientId=`: a `status` message first, then this client's events.
async fn socket(
    State(state): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if mode(&state) == Mode::ServerError {
        return server_error();
    }
    let client_id = q.get("clientId").cloned().unwrap_or_default();
    state.seen.lock().unwrap().sockets += 1;
    let events = state.events.subscribe();
    upgrade.on_upgrade(move |ws| serve_socket(ws, client_id, events))
}

async fn serve_socket(
    mut ws: WebSocket,
    client_id: String,
    mut events: broadcast::Receiver<(String, Value)>,
) {
    let status = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id}});
    if ws
        .send(Message::Text(status.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    // A preview frame, as ComfyUI sends between messages: clients must skip binary frames.
    let _ = ws
        .send(Message::Binary(Bytes::from_static(&[
            0, 0, 0, 1, 0, 0, 0, 2,
        ])))
        .await;
    while let Ok((to, message)) = events.recv().await {
        if to != client_id {
            continue;
        }
        if message["type"] == "close" {
            let _ = ws.send(Message::Close(None)).await;
            return;
        }
        if ws
            .send(Message::Text(message.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}
