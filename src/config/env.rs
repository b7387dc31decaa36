//! Settings from the environment. The names follow the keys: `I2V_<KEY>` for a top-level key
//! (`I2V_LISTEN`), `I2V_<SECTION>__<KEY>` for one in a section (`I2V_WEBHOOKS__BACKOFF_BASE_MS`).
//! Other `I2V_*` variables (`I2V_CONFIG`, the ones `i2v dev` writes, test switches) are not
//! settings and are left alone, except that a known section with an unknown key is an error:
//! that is a typo.

use figment::value::{Dict, Value};

use super::error::ConfigError;

const PREFIX: &str = "I2V_";
const SECTION_SEPARATOR: &str = "__";

/// This process's `I2V_*` variables.
pub fn process_vars() -> Result<Vec<(String, String)>, ConfigError> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with(PREFIX)) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| ConfigError::NotUnicode(name.to_owned()))?;
        vars.push((name.to_owned(), value));
    }
    Ok(vars)
}

/// The environment variable of a key path: `I2V_LISTEN`, `I2V_WEBHOOKS__POLL_MS`.
pub fn name<K: AsRef<str>>(keys: &[K]) -> String {
    let keys: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    format!(
        "{PREFIX}{}",
        keys.join(SECTION_SEPARATOR).to_ascii_uppercase()
    )
}

/// The settings among `vars` (a tree like the file's, of text: `defaults` says which keys
/// exist): the key's type decides how it is read (`extract_lossy`
/// turns "30000" into a number and "true" into a boolean where one is expected). An empty
/// variable counts as unset.
pub fn settings(vars: &[(String, String)], defaults: &Dict) -> Result<Dict, ConfigError> {
    let mut settings = Dict::new();
    for (var, value) in vars {
        let Some(name) = var.strip_prefix(PREFIX) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let name = name.to_ascii_lowercase();
        let value = Value::from(value.clone());
        match name.split_once(SECTION_SEPARATOR) {
            None => {
                if defaults.get(&name).is_some_and(|v| v.as_dict().is_none()) {
                    settings.insert(name, value);
                }
            }
            Some((section, key)) => {
                let Some(known) = defaults.get(section).and_then(Value::as_dict) else {
                    continue;
                };
                if !known.contains_key(key) {
                    return Err(ConfigError::UnknownVariable {
                        var: var.clone(),
                        section: section.to_owned(),
                        key: key.to_owned(),
                    });
                }
                let entry = settings
                    .entry(section.to_owned())
                    .or_insert_with(|| Dict::new().into());
                if let Value::Dict(_, dict) = entry {
                    dict.insert(key.to_owned(), value);
                }
            }
        }
    }
    Ok(settings)
}
