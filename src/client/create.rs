//! `i2v client create`: one video from flags, or one request per row of `--csv` (the header
//! names the API's fields). A create is never sent twice once it may have reached the server
//! (a lost answer could mean a video made and charged): it is reported failed instead.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde_json::{json, Map, Value};

use super::args::CreateArgs;
use super::http::{Api, CallError, CREATE, CREATE_BATCH};
use super::progress::Output;
use super::results::{records, status_name, COMPLETED};
use super::{ClientError, EXIT_INCOMPLETE, EXIT_OK};

/// Fields sent as integers and as booleans; every other column is text.
const INTEGER_FIELDS: &[&str] = &["video_length", "audio_type", "count"];
const BOOLEAN_FIELDS: &[&str] = &["extend_prompt", "generate_audio", "is_premium_model"];
/// Fields only the batch endpoint takes.
const BATCH_FIELDS: &[&str] = &["model_name", "count", "last_image_url", "generate_audio"];

/// One create request and where it came from (for messages).
pub struct Row {
    pub source: String,
    pub body: Map<String, Value>,
}

/// The requests to send: one from the flags, or one per CSV row.
pub fn rows(args: &CreateArgs) -> Result<Vec<Row>, ClientError> {
    let Some(path) = &args.csv else {
        let mut body = Map::new();
        let mut text = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                body.insert(k.into(), json!(v));
            }
        };
        text("image_url", &args.image_url);
        text("prompt", &args.prompt);
        text("negative_prompt", &args.negative_prompt);
        text("audio_url", &args.audio_url);
        text("effect_code", &args.effect_code);
        text("webhookurl", &args.webhook_url);
        text("model_name", &args.model_name);
        body.insert("resolution".into(), json!(args.resolution));
        body.insert("video_length".into(), json!(args.video_length));
        body.insert("audio_type".into(), json!(args.audio_type));
        if let Some(count) = args.count {
            body.insert("count".into(), json!(count));
        }
        return Ok(vec![Row {
            source: "flags".into(),
            body,
        }]);
    };
    let text = std::fs::read(path)
        .map_err(|e| ClientError::Usage(format!("--csv {}: {e}", path.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| ClientError::Usage(format!("--csv {}: not UTF-8 text", path.display())))?;
    csv_rows(&text, path).map_err(ClientError::Usage)
}

fn csv_rows(text: &str, path: &Path) -> Result<Vec<Row>, String> {
    let name = path.display();
    let records = parse_csv(text).map_err(|(line, e)| format!("{name}, line {line}: {e}"))?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(format!(
            "{name}: empty (a header row of field names comes first)"
        ));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
    if let Some(n) = header.iter().position(String::is_empty) {
        return Err(format!("{name}, line 1: column {} has no name", n + 1));
    }
    let mut rows = Vec::new();
    for (line, cells) in records {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if cells.len() != header.len() {
            return Err(format!(
                "{name}, line {line}: {} cells where the header has {}",
                cells.len(),
                header.len()
            ));
        }
        let mut body = Map::new();
        for (field, cell) in header.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let value = if INTEGER_FIELDS.contains(&field.as_str()) {
                json!(cell.parse::<i64>().map_err(|_| format!(
                    "{name}, line {line}: {field} must be a whole number, got {cell:?}"
                ))?)
            } else if BOOLEAN_FIELDS.contains(&field.as_str()) {
                json!(match cell.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ =>
                        return Err(format!(
                            "{name}, line {line}: {field} must be true or false, got {cell:?}"
                        )),
                })
            } else {
                json!(cell)
            };
            body.insert(field.clone(), value);
        }
        rows.push(Row {
            source: format!("{name}, line {line}"),
            body,
        });
    }
    if rows.is_empty() {
        return Err(format!("{name}: no rows under the header"));
    }
    Ok(rows)
}

/// RFC 4180 records with the line each starts on: commas, double-quoted cells (`""` is a
/// quote, newlines allowed inside), LF or CRLF line ends.
/// A CSV record: the line it starts on and its cells.
type Record = (usize, Vec<String>);

fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (false, '"') => return Err((line, "a quote inside an unquoted cell".into())),
            (false, ',') => cells.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                cells.push(std::mem::take(&mut cell));
                records.push((start, std::mem::take(&mut cells)));
                line += 1;
                start = line;
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err((start, "a quoted cell is never closed".into()));
    }
    if !cell.is_empty() || !cells.is_empty() {
        cells.push(cell);
        records.push((start, cells));
    }
    Ok(records)
}

pub async fn run(
    api: &Api,
    out: &Output,
    args: &CreateArgs,
    rows: Vec<Row>,
) -> Result<u8, ClientError> {
    let ids_out = match &args.ids_out {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| ClientError::Usage(format!("--ids-out {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let many = rows.len() > 1;
    if many {
        out.start("create", rows.len() as u64, 0);
    }
    let created: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let failed = Mutex::new(0u64);
    let results: Vec<Result<(), ClientError>> = stream::iter(rows)
        .map(|row| {
            let (created, failed, ids_out) = (&created, &failed, &ids_out);
            async move {
                let batch = row.body.keys().any(|k| BATCH_FIELDS.contains(&k.as_str()));
                let path = if batch { CREATE_BATCH } else { CREATE };
                let result = api.post_once(path, &Value::Object(row.body)).await;
                let ids: Vec<String> = match result {
                    Ok(answer) => {
                        if batch {
                            answer["data"]["successList"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|v| v["_id"].as_str().map(str::to_owned))
                                .collect()
                        } else {
                            answer["data"]["_id"].as_str().map(str::to_owned).into_iter().collect()
                        }
                    }
                    Err(CallError::Fatal { code, msg }) => {
                        return Err(ClientError::Refused { code, msg })
                    }
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                        out.note(&format!("{}: {e}", row.source));
                        out.record(&json!({"source": row.source, "outcome": "failed", "msg": e.to_string()}));
                        out.advance(1, "");
                        return Ok(());
                    }
                };
                if let Some(file) = ids_out {
                    let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
                    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
                    file.write_all(text.as_bytes())
                        .and_then(|_| file.flush())
                        .map_err(|e| ClientError::Failed(format!("--ids-out: {e}")))?;
                }
                for id in &ids {
                    out.record(&json!({"source": row.source, "id": id, "outcome": "created"}));
                    if !args.wait {
                        out.say(id);
                    }
                }
                created.lock().unwrap_or_else(|p| p.into_inner()).extend(ids);
                out.advance(1, "");
                Ok(())
            }
        })
        .buffer_unordered(usize::from(args.jobs))
        .collect()
        .await;
    out.finish("");
    for result in results {
        result?;
    }
    let created = created.into_inner().unwrap_or_else(|p| p.into_inner());
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut ok = failed == 0 && !created.is_empty();
    if args.wait && !created.is_empty() {
        let poll = Duration::from_secs_f64(args.poll_interval);
        let found = records(api, out, &created, Some(poll), usize::from(args.jobs)).await?;
        for id in &created {
            let record = found.get(id);
            let status = record.and_then(|r| r["status"].as_i64());
            ok &= status == Some(COMPLETED);
            let url = record.and_then(|r| r["video_url"].as_str()).unwrap_or("");
            out.record(
                &json!({"id": id, "status": status, "outcome": status_name(status),
                "video_url": record.map(|r| r["video_url"].clone())}),
            );
            out.say(format!("{id}\t{}\t{url}", status_name(status)).trim_end());
        }
    }
    if many && !out.quiet {
        eprintln!("created {}, failed {failed}", created.len());
    }
    Ok(if ok { EXIT_OK } else { EXIT_INCOMPLETE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_quotes_and_line_numbers() {
        let text = "image_url,prompt,video_length,extend_prompt\r\n\
                    https://e.com/a.png,\"waves, \"\"slow\"\"\",5,true\n\
                    \n\
                    https://e.com/b.png,\"two\nlines\",10,\n";
        let rows = csv_rows(text, Path::new("v.csv")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].body["prompt"], "waves, \"slow\"");
        assert_eq!(rows[0].body["video_length"], 5);
        assert_eq!(rows[0].body["extend_prompt"], true);
        assert_eq!(rows[1].body["prompt"], "two\nlines");
        assert!(
            !rows[1].body.contains_key("extend_prompt"),
            "an empty cell is left out"
        );
        assert_eq!(rows[1].source, "v.csv, line 4");
    }

    #[test]
    fn csv_errors_name_the_line() {
        let bad = "image_url,video_length\nhttps://e.com/a.png,5\nhttps://e.com/b.png,five\n";
        let err = csv_rows(bad, Path::new("v.csv")).err().unwrap();
        assert!(err.starts_with("v.csv, line 3: video_length"), "{err}");
        let short = "image_url,video_length\nhttps://e.com/a.png\n";
        let err = csv_rows(short, Path::new("v.csv")).err().unwrap();
        assert!(err.contains("line 2: 1 cells"), "{err}");
        let open = "a\n\"never closed\n";
        assert!(csv_rows(open, Path::new("v.csv"))
            .err()
            .unwrap()
            .contains("line 2"));
    }
}
