//! `i2v config print`: the effective configuration as TOML that loads as it is, each value
//! followed by a comment saying where it came from (`# default`, `# file /etc/i2v.toml`,
//! `# env I2V_WORKERS`, `# flag --workers`). Secrets show as `"<redacted>"`. Keys without a
//! value (TOML has no null) are named in one comment line after the top-level values.

use std::fmt::Write;

use figment::value::Value;

use super::error::ConfigError;
use super::load::{serialized, Loaded};

/// Comments start in this column, or two spaces after a longer line.
const COMMENT_COLUMN: usize = 40;

impl Loaded {
    pub fn annotated_toml(&self) -> Result<String, ConfigError> {
        let text = self
            .config
            .redacted_toml()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let unset: Vec<String> = serialized(&self.config)?
            .into_iter()
            .filter(|(_, value)| matches!(value, Value::Empty(..)))
            .map(|(key, _)| key)
            .collect();
        let mut unset_line =
            (!unset.is_empty()).then(|| format!("# not set: {}\n", unset.join(", ")));
        let mut out = String::with_capacity(text.len() * 2);
        let mut section: Option<&str> = None;
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name);
            }
            if section.is_some() || line.is_empty() {
                out.push_str(&unset_line.take().unwrap_or_default());
            }
            let origin = line.split_once(" = ").and_then(|(key, _)| {
                let path = section.map_or_else(|| key.to_owned(), |s| format!("{s}.{key}"));
                self.origins.of(&path)
            });
            match origin {
                Some(origin) => {
                    let _ = writeln!(out, "{line:<COMMENT_COLUMN$}  # {origin}");
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out.push_str(&unset_line.take().unwrap_or_default());
        Ok(out)
    }
}
