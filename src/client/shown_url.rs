//! How the client shows a URL in messages: server addresses and video URLs may carry user info
//! or signed query strings. Unlike the server's outbound redaction (`net`), the port stays: it is
//! how one tells a local i2v from another.

/// A URL as it may be shown: no user info, no query, no fragment.
pub fn shown_url(url: &url::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// `shown_url` of text that may not even be a URL.
pub fn shown_url_text(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => shown_url(&url),
        Err(_) => "(not a URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_lose_user_info_and_query() {
        assert_eq!(
            shown_url_text("https://user:pw@example.com/v.mp4?sig=secret#x"),
            "https://example.com/v.mp4"
        );
        assert_eq!(shown_url_text("not a url"), "(not a URL)");
    }
}
