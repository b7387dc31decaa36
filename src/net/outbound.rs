//! The client: one reqwest client per policy, with the redirect policy and the public-only
//! resolver installed, and the first-byte timeout around every request.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::redirect;

use super::address::{is_public, literal_is_private, AddressCheck};
use super::error::{classify, show_duration, FetchError};
use super::redact::{redact_raw, redact_url};
use super::redirect::redirect_refusal;
use super::resolver::PublicOnlyResolver;

#[derive(Clone, Debug)]
pub struct NetPolicy {
    pub allow_private: bool,
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    /// From sending a request until the final response's headers arrive (redirects included),
    /// so a host that accepts the connection and never answers frees the worker early.
    pub first_byte_timeout: Duration,
    /// Slowest acceptable body, measured over each consecutive `rate_window`; 0 turns the check
    /// off. A host trickling bytes would otherwise hold a worker for the whole `timeout`.
    pub min_bytes_per_sec: u64,
    pub rate_window: Duration,
}

impl Default for NetPolicy {
    fn default() -> Self {
        NetPolicy {
            allow_private: false,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            first_byte_timeout: Duration::from_secs(10),
            min_bytes_per_sec: 16 * 1024,
            rate_window: Duration::from_secs(5),
        }
    }
}

/// An HTTP client that obeys `NetPolicy`.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
    literal_is_public: AddressCheck,
    first_byte_timeout: Duration,
    pub(super) min_bytes_per_sec: u64,
    pub(super) rate_window: Duration,
}

impl Outbound {
    pub fn new(policy: NetPolicy) -> Outbound {
        Outbound::with_checks(policy, is_public, is_public)
    }

    /// `literal` judges IP-literal hosts (first URL and redirects), `resolved` judges DNS
    /// answers. Tests, which can only reach loopback, pass stand-ins to play a public host.
    pub(super) fn with_checks(
        policy: NetPolicy,
        literal: AddressCheck,
        resolved: AddressCheck,
    ) -> Outbound {
        let allow_private = policy.allow_private;
        let redirects = redirect::Policy::custom(move |attempt| {
            // `previous()` holds every URL requested so far, the original one included.
            match redirect_refusal(
                attempt.url(),
                attempt.previous().len(),
                allow_private,
                literal,
            ) {
                Some(refusal) => attempt.error(refusal),
                None => attempt.follow(),
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout)
            .redirect(redirects)
            .user_agent(concat!("i2v/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver { check: resolved }));
        }
        let client = builder
            .build()
            .expect("the HTTP client configuration is valid");
        Outbound {
            client,
            allow_private,
            literal_is_public: literal,
            first_byte_timeout: policy.first_byte_timeout,
            min_bytes_per_sec: policy.min_bytes_per_sec,
            rate_window: policy.rate_window,
        }
    }

    /// Checks the URL before any request: scheme, and IP literals against the policy.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, FetchError> {
        let url = url::Url::parse(raw).map_err(|_| FetchError::BadUrl(redact_raw(raw)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(FetchError::BadUrl(redact_url(&url)));
        }
        if !self.allow_private && literal_is_private(&url, self.literal_is_public) {
            return Err(FetchError::PrivateAddress(redact_url(&url)));
        }
        Ok(url)
    }

    /// GETs `raw_url` into memory, refusing bodies over `max_bytes` without reading them whole.
    pub async fn fetch(&self, raw_url: &str, max_bytes: u64) -> Result<Bytes, FetchError> {
        let url = self.check_url(raw_url)?;
        let shown = redact_url(&url);
        let resp = self
            .send(self.client.get(url.clone()), &url, &shown)
            .await?;
        if !resp.status().is_success() {
            return Err(FetchError::Status {
                url: shown,
                status: resp.status().as_u16(),
            });
        }
        if resp.content_length().is_some_and(|len| len > max_bytes) {
            return Err(FetchError::TooLarge {
                url: shown,
                max: max_bytes,
            });
        }
        self.read_body(resp, &url, shown, max_bytes).await
    }

    /// POSTs a JSON body; returns the HTTP status.
    pub async fn post_json(
        &self,
        raw_url: &str,
        body: &serde_json::Value,
    ) -> Result<u16, FetchError> {
        let url = self.check_url(raw_url)?;
        let shown = redact_url(&url);
        let resp = self
            .send(self.client.post(url.clone()).json(body), &url, &shown)
            .await?;
        Ok(resp.status().as_u16())
    }

    /// Sends a request, giving up when no response headers arrive within the first-byte timeout.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &url::Url,
        shown: &str,
    ) -> Result<reqwest::Response, FetchError> {
        match tokio::time::timeout(self.first_byte_timeout, request.send()).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(classify(url, shown, e)),
            Err(_) => Err(FetchError::Network {
                url: shown.to_owned(),
                reason: format!(
                    "no answer within {}",
                    show_duration(self.first_byte_timeout)
                ),
            }),
        }
    }
}
