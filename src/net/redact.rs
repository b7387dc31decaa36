//! What a URL shows in errors and logs. URLs may carry credentials (`user:password@`) and
//! signed query strings, so only scheme, host and path are shown, and text taken from the HTTP
//! library is scrubbed of anything URL-shaped and of the request's own secrets.

/// URLs may carry credentials or signed query strings; errors show only scheme, host and path.
pub(super) fn redact_url(url: &url::Url) -> String {
    if url.cannot_be_a_base() {
        // `data:…`, or `user:password@host` read as scheme `user`: the opaque rest may be
        // anything, credentials included, and so may a scheme nobody uses.
        return match url.scheme() {
            s @ ("data" | "mailto" | "javascript" | "about" | "blob" | "urn" | "tel") => {
                format!("{s}:")
            }
            _ => "(a URL without a host)".into(),
        };
    }
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    )
}

/// `redact_url` for text that does not parse as a URL: drops the query, the fragment and
/// anything before an `@` in the authority, and bounds the length (it is caller input).
pub(super) fn redact_raw(raw: &str) -> String {
    let cut = raw.find(['?', '#']).map_or(raw, |i| &raw[..i]);
    let (scheme, rest) = match cut.find("://") {
        Some(i) => cut.split_at(i + 3),
        None => ("", cut),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let mut shown: String = format!("{scheme}{rest}")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if shown.is_empty() {
        shown = "(empty)".into();
    }
    shown
}

/// Second line of defence behind `without_url`: whatever an HTTP library puts in its error
/// text, anything URL-shaped loses its userinfo, query and fragment, and the request's own
/// userinfo, query and fragment are masked wherever they appear.
pub(super) fn scrub(text: &str, url: &url::Url) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(i, |(p, _)| p);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .map_or(rest.len(), |e| i + e);
        out.push_str(&rest[..start]);
        let token = &rest[start..end];
        match url::Url::parse(token) {
            Ok(u) if u.has_host() => out.push_str(&redact_url(&u)),
            _ => out.push_str(&redact_raw(token)),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    let mut secrets: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        secrets.push(s.to_owned());
        secrets.push(percent_decode(s));
    };
    add(url.username());
    if let Some(password) = url.password() {
        add(password);
    }
    if let Some(query) = url.query() {
        add(query);
        for (_, value) in url.query_pairs() {
            add(&value);
        }
        for pair in query.split('&') {
            add(pair.split_once('=').map_or(pair, |(_, v)| v));
        }
    }
    if let Some(fragment) = url.fragment() {
        add(fragment);
    }
    // Longest first, so a value inside the whole query string is not half-masked. Very short
    // values are left alone: masking every "a" would garble the message and reveal little.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets.iter().filter(|s| s.chars().count() >= 4) {
        out = out.replace(secret.as_str(), "<redacted>");
    }
    out
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_url_secrets_from_any_text() {
        let url =
            url::Url::parse("http://alice:p%40ssw0rd@h.example/a?sig=abc%2Bdef&k=v#frag").unwrap();
        let text = "error for url (https://bob:hunter22@other.example:8080/p?token=zzzz9) and \
                    p@ssw0rd, abc+def, sig=abc%2Bdef, alice";
        let got = scrub(text, &url);
        for leaked in [
            "bob",
            "hunter22",
            "zzzz9",
            "p@ssw0rd",
            "abc+def",
            "abc%2Bdef",
            "alice",
        ] {
            assert!(!got.contains(leaked), "{leaked} in {got}");
        }
        assert!(got.contains("https://other.example/p"), "{got}");
        assert_eq!(redact_raw("http://u:pw@[bad/x?q=1#f"), "http://[bad/x");
        assert_eq!(redact_raw("u:pw@host/x?q"), "host/x");
        assert_eq!(redact_raw(""), "(empty)");
    }
}
