//! Hiding secrets that travel inside values, for anything that prints or logs them. Kept low in
//! the house so that config, store and blobs can all use it without importing each other.

/// A URL with its password (if any) replaced, safe to print or log.
pub fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url_password;

    #[test]
    fn only_the_password_is_replaced() {
        assert_eq!(
            redact_url_password("postgres://i2v:hunter2@db:5432/i2v"),
            "postgres://i2v:redacted@db:5432/i2v"
        );
        assert_eq!(
            redact_url_password("sqlite:///srv/i2v.db"),
            "sqlite:///srv/i2v.db"
        );
        assert_eq!(redact_url_password("not a url"), "not a url");
    }
}
