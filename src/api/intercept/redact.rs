//! Keeps secrets out of the journal: values of secret-named JSON fields and query parameters,
//! and every occurrence of the credentials the request carried, wherever they appear.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Field and parameter names whose values are secrets (compared without case).
const SECRET_NAMES: &[&str] = &[
    "clientsecret",
    "client_secret",
    "client-secret",
    "secret",
    "token",
    "accesstoken",
    "access_token",
    "access-token",
    "apikey",
    "api_key",
    "api-key",
    "x-api-key",
    "x_api_key",
    "authorization",
    "password",
];

/// A piece of every secret name: text without any of them holds no secret field, so the common
/// case (an answer of ids and statuses) is kept as it is, without parsing.
const SECRET_NAME_PIECES: &[&str] = &[
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "password",
];

fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
}

fn may_name_a_secret(bytes: &[u8]) -> bool {
    static PIECES: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(SECRET_NAME_PIECES)
            .expect("fixed patterns build")
    });
    PIECES.is_match(bytes)
}

/// The secrets one request carried: its API key, bearer token, clientSecret.
#[derive(Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    pub fn add(&mut self, secret: &str) {
        // Very short values would blank out ordinary text; no real credential is that short.
        if secret.len() >= 8 && !self.0.iter().any(|s| s == secret) {
            self.0.push(secret.to_owned());
        }
    }

    fn scrub(&self, mut text: String) -> String {
        for secret in &self.0 {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }

    /// A body as the journal keeps it: the text (lossy UTF-8) with the request's credentials
    /// replaced wherever they appear, and, when it is JSON naming a secret field, that field's
    /// value replaced (the JSON then written anew).
    pub fn body(&self, bytes: &[u8]) -> String {
        if may_name_a_secret(bytes) {
            if let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
                redact_fields(&mut value);
                return self.scrub(value.to_string());
            }
        }
        self.text(bytes)
    }

    /// A body whose field names are known to name no secret (an answer i2v built): the text
    /// with the request's credentials replaced wherever they appear.
    pub fn text(&self, bytes: &[u8]) -> String {
        self.scrub(lossy_text(bytes))
    }

    /// A query string with secret parameters' values replaced.
    pub fn query(&self, query: &str) -> String {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        self.scrub(redacted.join("&"))
    }
}

/// The bytes as text, invalid UTF-8 replaced. Checked with `from_utf8` first: it validates a word
/// at a time, where `from_utf8_lossy` walks the bytes in chunks, and that walk was the largest
/// single cost of journaling a 5 KB answer (150 of 24,000 samples of a polled server).
fn lossy_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn redact_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if is_secret_name(name) && !field.is_null() {
                    *field = Value::String(REDACTED.into());
                } else {
                    redact_fields(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_fields),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_replaced_at_any_depth() {
        let secrets = Secrets::default();
        let body = secrets.body(br#"{"clientId":"abc","clientSecret":"s3cr3t-value","n":{"api_key":"k","x":[{"Token":"t"}]}}"#);
        assert!(!body.contains("s3cr3t-value"), "{body}");
        assert!(body.contains(r#""clientId":"abc""#));
        assert!(body.contains(r#""api_key":"[redacted]""#));
        assert!(body.contains(r#""Token":"[redacted]""#));
    }

    #[test]
    fn the_requests_own_credentials_are_replaced_anywhere() {
        let mut secrets = Secrets::default();
        secrets.add("key-0123456789");
        let body = secrets.body(br#"{"prompt":"my key is key-0123456789"}"#);
        assert_eq!(body, r#"{"prompt":"my key is [redacted]"}"#);
        let spaced = secrets.body(br#"{ "prompt" : "kept as sent" }"#);
        assert_eq!(
            spaced, r#"{ "prompt" : "kept as sent" }"#,
            "no secret field: bytes kept"
        );
        assert_eq!(
            secrets.body(b"raw key-0123456789 text"),
            "raw [redacted] text"
        );
        assert_eq!(
            secrets.query("a=1&x-api-key=zzz&b=key-0123456789"),
            "a=1&x-api-key=[redacted]&b=[redacted]"
        );
    }

    #[test]
    fn short_values_are_not_taken_for_credentials() {
        let mut secrets = Secrets::default();
        secrets.add("a");
        assert_eq!(secrets.body(b"banana"), "banana");
    }
}
