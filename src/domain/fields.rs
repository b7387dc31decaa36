//! Reading fields of a JSON request body the way Akool clients actually send them.
//!
//! Akool's own demo sends integers as strings (`"audio_type": "3"`) and `""` for optional strings
//! it has no value for, so integer fields accept numeric strings, `""`/`null` count as absent for
//! optional fields, and every error names the field it is about.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

impl FieldError {
    pub fn new(msg: impl Into<String>) -> Self {
        FieldError(msg.into())
    }
}

pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub fn of(body: &'a Value) -> Result<Self, FieldError> {
        body.as_object()
            .map(Fields)
            .ok_or_else(|| FieldError::new("the request body must be a JSON object"))
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A string field; absent and `null` are `None`, `""` is `Some("")`.
    pub fn string(&self, name: &str) -> Result<Option<&'a str>, FieldError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(FieldError(format!("{name} must be a string"))),
        }
    }

    /// A string that must be present and not blank.
    pub fn required_string(&self, name: &str) -> Result<&'a str, FieldError> {
        match self.string(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(FieldError(format!("{name} is required"))),
        }
    }

    /// An integer given as a JSON integer or a string of digits; `""` counts as absent.
    pub fn int(&self, name: &str) -> Result<Option<i64>, FieldError> {
        let not_int = || FieldError(format!("{name} must be an integer"));
        match self.present(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(Some(i)),
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
                _ => Err(not_int()),
            },
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| not_int()),
            Some(_) => Err(not_int()),
        }
    }

    pub fn required_int(&self, name: &str) -> Result<i64, FieldError> {
        self.int(name)?
            .ok_or_else(|| FieldError(format!("{name} is required")))
    }

    /// A boolean given as JSON `true`/`false` or the strings `"true"`/`"false"`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(_) => Err(FieldError(format!("{name} must be true or false"))),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.present(name).is_some()
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.present(name)
    }
}

/// Checks that `value` is an absolute http(s) URL of at most `max_len` characters.
pub fn http_url(name: &str, value: &str, max_len: usize) -> Result<(), FieldError> {
    if value.chars().count() > max_len {
        return Err(FieldError(format!(
            "{name} is longer than {max_len} characters"
        )));
    }
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(FieldError(format!(
            "{name} must be an absolute http or https URL"
        ))),
    }
}

/// Checks a free-text field's length in characters.
pub fn max_chars(name: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        Err(FieldError(format!(
            "{name} is longer than {max} characters"
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_accept_numbers_and_numeric_strings() {
        let body = json!({"a": 3, "b": "2", "c": " 10 ", "d": "", "e": "x", "f": 1.5, "g": true, "h": 5.0});
        let f = Fields::of(&body).unwrap();
        assert_eq!(f.int("a"), Ok(Some(3)));
        assert_eq!(f.int("b"), Ok(Some(2)));
        assert_eq!(f.int("c"), Ok(Some(10)));
        assert_eq!(f.int("d"), Ok(None));
        assert_eq!(f.int("missing"), Ok(None));
        assert_eq!(f.int("h"), Ok(Some(5)));
        for bad in ["e", "f", "g"] {
            assert_eq!(
                f.int(bad),
                Err(FieldError(format!("{bad} must be an integer")))
            );
        }
    }

    #[test]
    fn strings_and_bools_name_the_field_when_wrong() {
        let body = json!({"s": 1, "b": "yes", "ok": "true", "n": null});
        let f = Fields::of(&body).unwrap();
        assert_eq!(f.string("s"), Err(FieldError::new("s must be a string")));
        assert_eq!(f.bool("b"), Err(FieldError::new("b must be true or false")));
        assert_eq!(f.bool("ok"), Ok(Some(true)));
        assert_eq!(f.string("n"), Ok(None));
        assert_eq!(
            f.required_string("n"),
            Err(FieldError::new("n is required"))
        );
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(http_url("u", "https://example.com/a.png", 2048).is_ok());
        assert!(http_url("u", "ftp://example.com/a.png", 2048).is_err());
        assert!(http_url("u", "/local/a.png", 2048).is_err());
        assert!(http_url("u", "https://example.com/", 10).is_err());
    }
}
