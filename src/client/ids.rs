//! Video ids from the command line, a file or stdin: one a line or comma-separated, blank lines
//! and `#` comments skipped, each a 24-hex-digit id (optionally in double quotes, as `jq` without
//! `-r` prints them). A malformed one is refused with its source and line; duplicates are kept
//! once, in first-seen order.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use super::args::IdsArgs;
use super::ClientError;
use crate::domain::ObjectId;

/// Every id `args` names, each once, in order.
pub fn collect(args: &IdsArgs) -> Result<Vec<String>, ClientError> {
    let mut ids = Ids::default();
    let mut stdin_read = false;
    let mut read_stdin = |ids: &mut Ids| -> Result<(), ClientError> {
        if std::mem::replace(&mut stdin_read, true) {
            return Ok(());
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| ClientError::Usage(format!("reading ids from stdin: {e}")))?;
        ids.add_text(&bytes, "stdin")
    };
    for (n, arg) in args.ids.iter().enumerate() {
        if arg == "-" {
            read_stdin(&mut ids)?;
        } else {
            ids.add_text(arg.as_bytes(), &format!("argument {}", n + 1))?;
        }
    }
    match args.ids_file.as_deref() {
        Some(path) if path == Path::new("-") => read_stdin(&mut ids)?,
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| ClientError::Usage(format!("--ids-file {}: {e}", path.display())))?;
            ids.add_text(&bytes, &path.display().to_string())?;
        }
        None => {}
    }
    if ids.list.is_empty() {
        return Err(ClientError::Usage(
            "no ids given: name them as arguments, with --ids-file FILE, or `-` for stdin".into(),
        ));
    }
    Ok(ids.list)
}

#[derive(Default)]
struct Ids {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl Ids {
    /// Adds the ids of `text`; an error names `source` and the line.
    fn add_text(&mut self, text: &[u8], source: &str) -> Result<(), ClientError> {
        for (n, line) in text.split(|b| *b == b'\n').enumerate() {
            let at = || format!("{source}, line {}", n + 1);
            let line = std::str::from_utf8(line)
                .map_err(|_| ClientError::Usage(format!("{}: not UTF-8 text", at())))?;
            let line = line.split('#').next().unwrap_or("");
            for token in line.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                // Any case is taken; ids go out in the lower case servers hand out.
                let id = unquote(token).to_ascii_lowercase();
                if ObjectId::parse(&id).is_none() {
                    return Err(ClientError::Usage(format!(
                        "{}: {:?} is not a video id (24 hex digits)",
                        at(),
                        shorten(token)
                    )));
                }
                if self.seen.insert(id.clone()) {
                    self.list.push(id);
                }
            }
        }
        Ok(())
    }
}

fn unquote(token: &str) -> &str {
    token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(token)
        .trim()
}

fn shorten(token: &str) -> String {
    if token.chars().count() > 40 {
        format!("{}…", token.chars().take(40).collect::<String>())
    } else {
        token.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6650aa11bb22cc33dd44ee55";
    const B: &str = "6650aa11bb22cc33dd44ee56";
    const C: &str = "6650aa11bb22cc33dd44ee57";

    fn parse(text: &str) -> Result<Vec<String>, String> {
        let mut ids = Ids::default();
        match ids.add_text(text.as_bytes(), "ids.txt") {
            Ok(()) => Ok(ids.list),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn lines_commas_quotes_comments_and_duplicates() {
        let text = format!("{A}\n\n  {B} , \"{C}\"\r\n# a comment\n{A} # again\n");
        assert_eq!(parse(&text).unwrap(), [A, B, C]);
        assert_eq!(
            parse(&A.to_uppercase()).unwrap(),
            [A],
            "hex case is not a new id"
        );
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_malformed_id_names_its_line() {
        let err = parse(&format!("{A}\n{B}\nnot-an-id\n")).unwrap_err();
        assert!(err.contains("ids.txt, line 3"), "{err}");
        assert!(err.contains("not-an-id"), "{err}");
        let err = parse(&format!("{A},{B}x")).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        let mut bytes = format!("{A}\n").into_bytes();
        bytes.extend([0xff, b'\n']);
        let err = Ids::default()
            .add_text(&bytes, "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f, line 2: not UTF-8"), "{err}");
    }

    #[test]
    fn arguments_may_be_lists_and_none_at_all_is_an_error() {
        let args = IdsArgs {
            ids: vec![format!("{A},{B}"), C.into()],
            ids_file: None,
        };
        assert_eq!(collect(&args).unwrap(), [A, B, C]);
        let none = IdsArgs {
            ids: vec![],
            ids_file: None,
        };
        assert!(collect(&none).unwrap_err().to_string().contains("no ids"));
    }
}
