//! `i2v client results`: each video's status, `--wait` until all are final, `--download DIR`
//! to save the finished MP4s (resumed from a `.part` file with a Range request, and kept only
//! once its size matches what the server announced).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::args::ResultsArgs;
use super::http::{network_error, Api, CallError, RESULTS};
use super::progress::Output;
use super::shown_url::shown_url_text;
use super::{ClientError, EXIT_INCOMPLETE, EXIT_OK};

const CALL_IDS: usize = 100;
pub const COMPLETED: i64 = 3;
pub const FAILED: i64 = 4;

pub fn status_name(status: Option<i64>) -> &'static str {
    match status {
        Some(1) => "queued",
        Some(2) => "processing",
        Some(COMPLETED) => "completed",
        Some(FAILED) => "failed",
        Some(_) => "unknown",
        None => "not_found",
    }
}

pub async fn run(
    api: &Api,
    out: &Output,
    args: &ResultsArgs,
    ids: Vec<String>,
) -> Result<u8, ClientError> {
    let poll = Duration::from_secs_f64(args.poll_interval);
    let jobs = usize::from(args.jobs);
    let records = records(api, out, &ids, args.wait.then_some(poll), jobs).await?;
    let mut all_done = true;
    for id in &ids {
        let record = records.get(id);
        let status = record.and_then(|r| r["status"].as_i64());
        all_done &= status == Some(COMPLETED);
        let url = record.and_then(|r| r["video_url"].as_str()).unwrap_or("");
        let reason = record
            .and_then(|r| r["error_reason"].as_str())
            .unwrap_or("");
        out.record(&json!({
            "id": id,
            "status": status,
            "outcome": status_name(status),
            "video_url": record.map(|r| r["video_url"].clone()),
            "error_reason": record.map(|r| r["error_reason"].clone()),
        }));
        let detail = if status == Some(FAILED) { reason } else { url };
        out.say(format!("{id}\t{}\t{detail}", status_name(status)).trim_end());
    }
    if let Some(dir) = &args.download {
        all_done &= download_all(api, out, dir, &ids, &records, jobs).await?;
    }
    Ok(if all_done { EXIT_OK } else { EXIT_INCOMPLETE })
}

/// The records of `ids` (absent: not found); with `wait`, polled every `wait` until each is
/// completed, failed or gone.
pub async fn records(
    api: &Api,
    out: &Output,
    ids: &[String],
    wait: Option<Duration>,
    jobs: usize,
) -> Result<HashMap<String, Value>, ClientError> {
    let mut found: HashMap<String, Value> = HashMap::new();
    let mut pending: Vec<String> = ids.to_vec();
    if wait.is_some() {
        out.start("wait", ids.len() as u64, 0);
    }
    loop {
        let chunks: Vec<Vec<String>> = pending.chunks(CALL_IDS).map(<[_]>::to_vec).collect();
        let answers: Vec<Result<Value, CallError>> = stream::iter(chunks)
            .map(|chunk| async move { api.post(RESULTS, &json!({"_ids": chunk.join(",")})).await })
            .buffer_unordered(jobs)
            .collect()
            .await;
        let mut seen: HashMap<String, Value> = HashMap::new();
        for answer in answers {
            let answer = answer?;
            for item in answer["data"]["result"].as_array().into_iter().flatten() {
                if let Some(id) = item["_id"].as_str() {
                    seen.insert(id.to_ascii_lowercase(), item.clone());
                }
            }
        }
        let before = pending.len();
        pending.retain(|id| match seen.remove(id) {
            Some(item) => {
                let status = item["status"].as_i64();
                found.insert(id.clone(), item);
                !matches!(status, Some(COMPLETED) | Some(FAILED))
            }
            None => {
                found.remove(id);
                false
            }
        });
        let Some(every) = wait else { break };
        let (mut done, mut failed) = (0, 0);
        for v in found.values() {
            match v["status"].as_i64() {
                Some(COMPLETED) => done += 1,
                Some(FAILED) => failed += 1,
                _ => {}
            }
        }
        let gone = ids.len() - found.len();
        out.advance(
            (before - pending.len()) as u64,
            &format!(
                "completed {done}, failed {failed}, not found {gone}, waiting {}",
                pending.len()
            ),
        );
        if pending.is_empty() {
            out.finish(&format!(
                "completed {done}, failed {failed}, not found {gone}"
            ));
            break;
        }
        tokio::time::sleep(every).await;
    }
    Ok(found)
}

/// Downloads each completed video; true when every id has its file.
async fn download_all(
    api: &Api,
    out: &Output,
    dir: &Path,
    ids: &[String],
    records: &HashMap<String, Value>,
    jobs: usize,
) -> Result<bool, ClientError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ClientError::Usage(format!("--download {}: {e}", dir.display())))?;
    let wanted: Vec<(String, String)> = ids
        .iter()
        .filter_map(|id| {
            let url = records.get(id)?["video_url"].as_str()?;
            (!url.is_empty()).then(|| (id.clone(), url.to_owned()))
        })
        .collect();
    let mut all = wanted.len() == ids.len();
    out.start("download", wanted.len() as u64, 0);
    let results: Vec<(String, Result<Saved, String>)> = stream::iter(wanted)
        .map(|(id, url)| async move {
            let result = download(api, &url, dir, &id).await;
            out.advance(1, "");
            (id, result)
        })
        .buffer_unordered(jobs)
        .collect()
        .await;
    out.finish("");
    for (id, result) in results {
        match result {
            Ok((path, bytes, skipped)) => {
                out.record(
                    &json!({"id": id, "downloaded": path, "bytes": bytes, "skipped": skipped}),
                );
                let how = if skipped { "already there" } else { "saved" };
                out.say(&format!("{id}\t{how}\t{}\t{bytes} bytes", path.display()));
            }
            Err(e) => {
                all = false;
                out.record(&json!({"id": id, "download_error": e}));
                out.note(&format!("download {id}: {e}"));
            }
        }
    }
    Ok(all)
}

/// A saved file: its path, its size and whether it was there already.
type Saved = (PathBuf, u64, bool);

enum Fetch {
    Retry(String),
    Stop(String),
}

/// Saves `url` as DIR/<id>.mp4; answers its path, size and whether it was already there.
async fn download(api: &Api, url: &str, dir: &Path, id: &str) -> Result<Saved, String> {
    let path = dir.join(format!("{id}.mp4"));
    if let Ok(meta) = std::fs::metadata(&path) {
        return Ok((path, meta.len(), true));
    }
    let part = dir.join(format!("{id}.mp4.part"));
    let mut attempt = 0;
    loop {
        attempt += 1;
        match fetch(api, url, &part).await {
            Ok(bytes) => {
                std::fs::rename(&part, &path).map_err(|e| format!("{}: {e}", path.display()))?;
                return Ok((path, bytes, false));
            }
            Err(Fetch::Stop(why)) => return Err(why),
            Err(Fetch::Retry(why)) if attempt >= api.attempts() => {
                return Err(format!("{why} (gave up after {attempt} attempts)"))
            }
            Err(Fetch::Retry(_)) => tokio::time::sleep(api.backoff(attempt - 1)).await,
        }
    }
}

/// One attempt: asks for the bytes after those already in `part` and appends them.
async fn fetch(api: &Api, url: &str, part: &Path) -> Result<u64, Fetch> {
    let shown = shown_url_text(url);
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut request = api.download(url);
    if have > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| Fetch::Retry(format!("{shown}: {}", network_error(&e))))?;
    let status = response.status().as_u16();
    let range_total = || {
        response
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit('/').next())
            .and_then(|t| t.parse::<u64>().ok())
    };
    let (total, append) = match status {
        206 => (range_total(), true),
        200 => (response.content_length(), false),
        416 => {
            // The part already holds every byte, or the file changed under it.
            if range_total() == Some(have) {
                return Ok(have);
            }
            let _ = std::fs::remove_file(part);
            return Err(Fetch::Retry(format!(
                "{shown}: the partial file no longer fits"
            )));
        }
        429 | 500..=599 => return Err(Fetch::Retry(format!("{shown}: HTTP {status}"))),
        _ => return Err(Fetch::Stop(format!("{shown}: HTTP {status}"))),
    };
    let io = |e: std::io::Error| Fetch::Stop(format!("{}: {e}", part.display()));
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(part)
        .await
        .map_err(io)?;
    let mut size = if append { have } else { 0 };
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                file.write_all(&bytes).await.map_err(io)?;
                size += bytes.len() as u64;
            }
            Ok(None) => break,
            Err(e) => {
                let _ = file.flush().await;
                return Err(Fetch::Retry(format!("{shown}: {}", network_error(&e))));
            }
        }
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    match total {
        Some(total) if total != size => Err(Fetch::Retry(format!(
            "{shown}: {size} bytes where {total} were announced"
        ))),
        _ => Ok(size),
    }
}
