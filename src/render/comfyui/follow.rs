//! Following a queued prompt to its end: the server's progress websocket (`/ws?clientId=`, opened
//! before the prompt is queued so no message is missed), and `/history/{prompt_id}` polling when
//! the socket cannot be opened or drops. A prompt that someone else interrupted is a passing
//! fault; an `execution_error` fails the job.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::client::{execution_reason, ComfyClient, ComfyError, HistoryState, OutputFile};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// History reads that may fail in a row (the server restarting, say) before the job counts as
/// lost with its server.
const HISTORY_FAILURES: u32 = 5;

/// Opens the progress socket for `client_id`; `None` (logged) when it cannot be opened, and the
/// job is then followed by polling.
pub async fn open_socket(
    client: &ComfyClient,
    client_id: &str,
    timeout: Duration,
) -> Option<Socket> {
    let request = client.websocket_request(client_id).ok()?;
    match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request)).await {
        Ok(Ok((socket, _))) => Some(socket),
        Ok(Err(e)) => {
            tracing::info!(server = %client.label, error = %e, "no progress socket; following the job through /history");
            None
        }
        Err(_) => {
            tracing::info!(server = %client.label, "progress socket timed out; following the job through /history");
            None
        }
    }
}

/// Waits for `prompt_id` to end; the files its output node wrote.
pub async fn follow(
    client: &ComfyClient,
    socket: Option<Socket>,
    prompt_id: &str,
    output_node: &str,
    poll: Duration,
) -> Result<Vec<OutputFile>, ComfyError> {
    if let Some(socket) = socket {
        match watch_socket(socket, prompt_id).await {
            SocketEnd::Finished => {}
            SocketEnd::Failed(reason) => return Err(ComfyError::Rejected(reason)),
            SocketEnd::Interrupted => return Err(interrupted(client)),
            SocketEnd::Dropped => {
                tracing::info!(server = %client.label, prompt_id, "progress socket dropped; following the job through /history");
            }
        }
    }
    // After `execution_success` the history entry is written a moment later: poll either way.
    poll_history(client, prompt_id, output_node, poll).await
}

enum SocketEnd {
    Finished,
    Failed(String),
    Interrupted,
    Dropped,
}

async fn watch_socket(mut socket: Socket, prompt_id: &str) -> SocketEnd {
    while let Some(message) = socket.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            // Binary frames are previews; pings are answered by the library.
            Ok(Message::Close(_)) | Err(_) => return SocketEnd::Dropped,
            Ok(_) => continue,
        };
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let data = &message["data"];
        if data["prompt_id"].as_str() != Some(prompt_id) {
            continue;
        }
        match message["type"].as_str() {
            Some("execution_success") => return SocketEnd::Finished,
            // Servers before `execution_success` existed end with `executing` of no node.
            Some("executing") if data["node"].is_null() => return SocketEnd::Finished,
            Some("execution_error") => return SocketEnd::Failed(execution_reason(data)),
            Some("execution_interrupted") => return SocketEnd::Interrupted,
            Some("progress") => {
                tracing::debug!(
                    prompt_id,
                    node = %data["node"],
                    value = %data["value"],
                    max = %data["max"],
                    "ComfyUI progress"
                );
            }
            _ => {}
        }
    }
    SocketEnd::Dropped
}

async fn poll_history(
    client: &ComfyClient,
    prompt_id: &str,
    output_node: &str,
    poll: Duration,
) -> Result<Vec<OutputFile>, ComfyError> {
    let mut failures = 0;
    // The first reads come quickly: after a socket's end the entry is usually a moment away.
    let mut wait = poll.min(Duration::from_millis(100));
    loop {
        match client.history(prompt_id, output_node).await {
            Ok(HistoryState::Pending) => failures = 0,
            Ok(HistoryState::Succeeded(files)) => return Ok(files),
            Ok(HistoryState::Failed(reason)) => return Err(ComfyError::Rejected(reason)),
            Ok(HistoryState::Interrupted) => return Err(interrupted(client)),
            Err(e) => {
                failures += 1;
                if failures >= HISTORY_FAILURES {
                    return Err(e);
                }
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(poll);
    }
}

fn interrupted(client: &ComfyClient) -> ComfyError {
    ComfyError::Down(format!(
        "{}: the job was interrupted at the server",
        client.label
    ))
}
