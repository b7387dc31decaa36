//! The `--state` file of `delete`: JSON lines, appended and fsync'd as outcomes become known,
//! read back on start so that a re-run skips what is done.
//!
//! Two kinds of line:
//! - `{"sent":["id",...]}` before a batch is sent: until an outcome line follows, the batch may
//!   have been applied without its answer arriving (a crash, Ctrl-C), so a later "not found"
//!   for those ids means the earlier run deleted them.
//! - `{"id":"...","outcome":"deleted"|"not_found"|"processing"|"failed","msg"?:"..."}` once an
//!   answer said so. `deleted` and `not_found` are final: a re-run skips those ids. The last
//!   line of an id wins.
//!
//! A crash can leave the last line torn (no newline, not JSON); it is ignored, and the next
//! append starts on a fresh line. A bad line anywhere else is an error naming it.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::ClientError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deleted,
    NotFound,
    Processing,
    Failed,
}

impl Outcome {
    /// Done for good: a re-run skips the id.
    pub fn is_final(self) -> bool {
        matches!(self, Outcome::Deleted | Outcome::NotFound)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Sent {
        sent: Vec<String>,
    },
    Outcome {
        id: String,
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msg: Option<String>,
    },
}

/// What an earlier run left.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every id's last outcome.
    pub outcomes: HashMap<String, Outcome>,
    /// Ids sent in a batch whose answer never came.
    pub in_doubt: HashSet<String>,
    /// A torn last line was found (and is ignored).
    pub torn: bool,
}

/// The open file (or none without `--state`).
pub struct State {
    file: Option<Mutex<File>>,
    path: PathBuf,
}

impl State {
    pub fn none() -> State {
        State {
            file: None,
            path: PathBuf::new(),
        }
    }

    /// Opens (or creates) `path` and reads what it holds.
    pub fn open(path: &Path) -> Result<(State, Loaded), ClientError> {
        let fail =
            |e: std::io::Error| ClientError::Usage(format!("--state {}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(fail)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(fail)?;
        let loaded = parse(&bytes)
            .map_err(|e| ClientError::Usage(format!("--state {}: {e}", path.display())))?;
        if loaded.torn {
            // Cut the torn tail off, so the next line starts where it began.
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(fail)?;
        } else if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            // A whole last line without its newline: the next line must not be glued to it.
            file.write_all(b"\n").map_err(fail)?;
        }
        Ok((
            State {
                file: Some(Mutex::new(file)),
                path: path.to_owned(),
            },
            loaded,
        ))
    }

    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    /// Records that `ids` are about to be sent.
    pub fn sent(&self, ids: &[String]) -> Result<(), ClientError> {
        if !self.enabled() {
            return Ok(());
        }
        self.append(&[Line::Sent { sent: ids.to_vec() }])
    }

    /// Records outcomes, all in one write, synced to disk before returning.
    pub fn outcomes<'a>(
        &self,
        outcomes: impl IntoIterator<Item = (&'a str, Outcome, Option<&'a str>)>,
    ) -> Result<(), ClientError> {
        if !self.enabled() {
            return Ok(());
        }
        let lines: Vec<Line> = outcomes
            .into_iter()
            .map(|(id, outcome, msg)| Line::Outcome {
                id: id.to_owned(),
                outcome,
                msg: msg.map(str::to_owned),
            })
            .collect();
        self.append(&lines)
    }

    fn append(&self, lines: &[Line]) -> Result<(), ClientError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if lines.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for line in lines {
            text.push_str(&serde_json::to_string(line).expect("state lines serialize"));
            text.push('\n');
        }
        let write = || -> std::io::Result<()> {
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            file.write_all(text.as_bytes())?;
            file.sync_data()
        };
        let result = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(write)
            }
            _ => write(),
        };
        result.map_err(|e| ClientError::Failed(format!("--state {}: {e}", self.path.display())))
    }
}

/// Reads a state file's bytes.
fn parse(bytes: &[u8]) -> Result<Loaded, String> {
    let mut loaded = Loaded::default();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let last = lines.len() - 1;
    for (n, raw) in lines.iter().enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line: Line = match serde_json::from_slice(raw) {
            Ok(line) => line,
            // The last line without its newline: a write cut short by a crash.
            Err(_) if n == last => {
                loaded.torn = true;
                continue;
            }
            Err(e) => return Err(format!("line {}: not a state line ({e})", n + 1)),
        };
        match line {
            Line::Sent { sent } => loaded.in_doubt.extend(sent),
            Line::Outcome { id, outcome, .. } => {
                loaded.in_doubt.remove(&id);
                loaded.outcomes.insert(id, outcome);
            }
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6650aa11bb22cc33dd44ee55";
    const B: &str = "6650aa11bb22cc33dd44ee56";
    const C: &str = "6650aa11bb22cc33dd44ee57";

    #[test]
    fn outcomes_survive_a_reopen_and_the_last_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.jsonl");
        {
            let (state, loaded) = State::open(&path).unwrap();
            assert!(loaded.outcomes.is_empty());
            state.sent(&[A.into(), B.into(), C.into()]).unwrap();
            state
                .outcomes([
                    (A, Outcome::Processing, Some("busy")),
                    (B, Outcome::Deleted, None),
                ])
                .unwrap();
            state.outcomes([(A, Outcome::Deleted, None)]).unwrap();
        }
        let (_, loaded) = State::open(&path).unwrap();
        assert_eq!(loaded.outcomes[A], Outcome::Deleted);
        assert_eq!(loaded.outcomes[B], Outcome::Deleted);
        assert!(!loaded.outcomes.contains_key(C));
        assert_eq!(
            loaded.in_doubt,
            HashSet::from([C.to_owned()]),
            "sent, never answered"
        );
        assert!(!loaded.torn);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_the_next_append_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.jsonl");
        let whole = format!("{{\"id\":\"{A}\",\"outcome\":\"deleted\"}}\n");
        std::fs::write(&path, format!("{whole}{{\"id\":\"{B}\",\"outc")).unwrap();
        {
            let (state, loaded) = State::open(&path).unwrap();
            assert!(loaded.torn);
            assert_eq!(loaded.outcomes.len(), 1);
            state.outcomes([(C, Outcome::NotFound, None)]).unwrap();
        }
        let (_, loaded) = State::open(&path).unwrap();
        assert_eq!(loaded.outcomes.len(), 2, "{loaded:?}");
        assert_eq!(loaded.outcomes[C], Outcome::NotFound);
        assert!(!loaded.torn, "the torn tail was cut off");
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_naming_it() {
        let err =
            parse(format!("garbage\n{{\"id\":\"{A}\",\"outcome\":\"deleted\"}}\n").as_bytes())
                .unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
    }
}
