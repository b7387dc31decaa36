//! What a failed fetch reports, and the mapping from the HTTP library's errors to it.

use std::time::Duration;

use super::redact::scrub;
use super::redirect::RedirectRefusal;
use super::resolver::{PrivateName, PRIVATE_MARKER};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http or https URL")]
    BadUrl(String),
    #[error(
        "refused to fetch {0}: it resolves to a private or reserved address (an operator can \
         allow this with --allow-private-urls / I2V_ALLOW_PRIVATE_URLS=true)"
    )]
    PrivateAddress(String),
    #[error("{url} is larger than {max} bytes")]
    TooLarge { url: String, max: u64 },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("could not fetch {url}: {reason}")]
    Network { url: String, reason: String },
}

impl FetchError {
    /// True for faults that may pass: server errors, throttling, timeouts, refused connections,
    /// stalled hosts. A private address is permanent: retrying cannot make it public.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            FetchError::Network { .. } => true,
            _ => false,
        }
    }
}

pub(super) fn show_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

pub(super) fn classify(url: &url::Url, shown: &str, e: reqwest::Error) -> FetchError {
    // reqwest's Display appends the full URL, userinfo and query included.
    let e = e.without_url();
    let timed_out = e.is_timeout();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        if let Some(RedirectRefusal::Private(target)) = inner.downcast_ref::<RedirectRefusal>() {
            return FetchError::PrivateAddress(format!("{shown} (redirected to {target})"));
        }
        // The text check backs up the downcast in case a layer re-wraps the resolver's error.
        if inner.downcast_ref::<PrivateName>().is_some()
            || inner.to_string().contains(PRIVATE_MARKER)
        {
            return FetchError::PrivateAddress(shown.to_owned());
        }
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    if timed_out {
        reason = "timed out".into();
    }
    FetchError::Network {
        url: shown.to_owned(),
        reason: scrub(&reason, url),
    }
}
