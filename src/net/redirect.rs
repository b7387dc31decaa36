//! The redirect policy: a limited number of hops, http(s) only, and no IP-literal target the
//! address check refuses (names are judged by the resolver when the hop connects).

use super::address::{literal_is_private, AddressCheck};
use super::redact::redact_url;

pub const MAX_REDIRECTS: usize = 5;

/// Why the redirect policy stopped following. Typed so that `classify` can tell a private
/// target (permanent) from the rest without matching on text.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum RedirectRefusal {
    #[error("too many redirects")]
    TooMany,
    #[error("redirect to a non-http URL")]
    NotHttp,
    /// Holds the redacted target.
    #[error("redirect to a private address ({0})")]
    Private(String),
}

/// The redirect decision, given the target and how many URLs were requested so far.
pub(super) fn redirect_refusal(
    target: &url::Url,
    requested: usize,
    allow_private: bool,
    literal_is_public: AddressCheck,
) -> Option<RedirectRefusal> {
    if requested > MAX_REDIRECTS {
        Some(RedirectRefusal::TooMany)
    } else if !matches!(target.scheme(), "http" | "https") {
        Some(RedirectRefusal::NotHttp)
    } else if !allow_private && literal_is_private(target, literal_is_public) {
        Some(RedirectRefusal::Private(redact_url(target)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::address::is_public;

    #[test]
    fn the_redirect_policy_refuses_private_targets_as_such() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            redirect_refusal(&u("http://10.0.0.1/x?sig=1"), 1, false, is_public),
            Some(RedirectRefusal::Private("http://10.0.0.1/x".into()))
        );
        assert_eq!(
            redirect_refusal(&u("http://[2002:a00:1::]/x"), 1, false, is_public),
            Some(RedirectRefusal::Private("http://[2002:a00:1::]/x".into()))
        );
        assert_eq!(
            redirect_refusal(&u("http://10.0.0.1/"), 1, true, is_public),
            None
        );
        assert_eq!(
            redirect_refusal(&u("http://8.8.8.8/"), 1, false, is_public),
            None
        );
        assert_eq!(
            redirect_refusal(&u("http://example.com/"), 5, false, is_public),
            None
        );
        assert_eq!(
            redirect_refusal(&u("http://example.com/"), 6, false, is_public),
            Some(RedirectRefusal::TooMany)
        );
        assert_eq!(
            redirect_refusal(&u("file:///etc/passwd"), 1, false, is_public),
            Some(RedirectRefusal::NotHttp)
        );
    }
}
