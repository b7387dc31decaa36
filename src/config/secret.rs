//! Settings that must never reach a log or a terminal. Tokens and keys are `SecretString`s
//! (Debug shows `[REDACTED]`); URLs that may carry a password are `SecretUrl`s, shown with the
//! password replaced. Both serialize redacted, so `config print` cannot leak them either; the
//! one way to the value is `expose_secret()`, where it is needed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::redact_url_password;

/// What a secret serializes as.
pub const REDACTED: &str = "<redacted>";

/// `serialize_with` for an `Option<SecretString>`: `"<redacted>"` when set.
pub fn redacted<S: Serializer>(value: &Option<SecretString>, out: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => out.serialize_str(REDACTED),
        None => out.serialize_none(),
    }
}

/// A URL that may hold a password (`postgres://USER:PASSWORD@HOST/DB`).
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    /// The URL as given, password included: for opening the connection, nothing else.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        SecretUrl(url.into())
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> Self {
        SecretUrl(url.into())
    }
}

/// The URL with its password replaced.
impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url_password(self.expose_secret()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.to_string())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(input: D) -> Result<Self, D::Error> {
        String::deserialize(input).map(SecretUrl::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_shows_everything_but_its_password() {
        let url = SecretUrl::from("postgres://i2v:hunter2@db:5432/i2v");
        for shown in [
            url.to_string(),
            format!("{url:?}"),
            toml::Value::try_from(&url).unwrap().to_string(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("i2v:redacted@db:5432/i2v"), "{shown}");
        }
        assert_eq!(url.expose_secret(), "postgres://i2v:hunter2@db:5432/i2v");
    }
}
