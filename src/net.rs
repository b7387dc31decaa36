//! Outbound HTTP policy, shared by every fetch i2v makes on a user's behalf (image_url,
//! last_image_url, audio_url, webhooks): timeouts, a size cap, a redirect limit, and refusal of
//! private, loopback, link-local and metadata addresses unless the operator allows them.
//!
//! The address check happens in the DNS resolver the client uses for every connection, after
//! resolution, so neither a redirect nor a DNS answer that changes between check and connect
//! (rebinding) can reach a private address. IP-literal hosts never reach the resolver, so they
//! are checked on the URL itself, for the first request and for every redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

pub const MAX_REDIRECTS: usize = 5;

#[derive(Clone, Debug)]
pub struct NetPolicy {
    pub allow_private: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http or https URL")]
    BadUrl(String),
    #[error("refused to fetch {0}: it resolves to a private or reserved address")]
    PrivateAddress(String),
    #[error("{url} is larger than {max} bytes")]
    TooLarge { url: String, max: u64 },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("could not fetch {url}: {reason}")]
    Network { url: String, reason: String },
}

impl FetchError {
    /// True for faults that may pass: server errors, throttling, timeouts, refused connections.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            FetchError::Network { .. } => true,
            _ => false,
        }
    }
}

/// An HTTP client that obeys `NetPolicy`.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    pub fn new(policy: NetPolicy) -> Outbound {
        let allow_private = policy.allow_private;
        let redirects = redirect::Policy::custom(move |attempt| {
            // `previous()` holds every URL requested so far, the original one included.
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                attempt.error("redirect to a non-http URL")
            } else if !allow_private && literal_is_private(attempt.url()) {
                attempt.error("redirect to a private address")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout)
            .redirect(redirects)
            .user_agent(concat!("i2v/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder
            .build()
            .expect("the HTTP client configuration is valid");
        Outbound {
            client,
            allow_private,
        }
    }

    /// Checks the URL before any request: scheme, and IP literals against the policy.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, FetchError> {
        let url = url::Url::parse(raw).map_err(|_| FetchError::BadUrl(raw.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(FetchError::BadUrl(raw.to_owned()));
        }
        if !self.allow_private && literal_is_private(&url) {
            return Err(FetchError::PrivateAddress(raw.to_owned()));
        }
        Ok(url)
    }

    /// GETs `raw_url` into memory, refusing bodies over `max_bytes` without reading them whole.
    pub async fn fetch(&self, raw_url: &str, max_bytes: u64) -> Result<Bytes, FetchError> {
        let url = self.check_url(raw_url)?;
        let shown = redact_url(&url);
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| classify(&shown, e))?;
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
        let mut body = BytesMut::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify(&shown, e))?;
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(FetchError::TooLarge {
                    url: shown,
                    max: max_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
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
            .client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| classify(&shown, e))?;
        Ok(resp.status().as_u16())
    }
}

/// URLs may carry credentials or signed query strings; errors show only scheme, host and path.
fn redact_url(url: &url::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    )
}

fn classify(url: &str, e: reqwest::Error) -> FetchError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        if inner.to_string().contains(PRIVATE_MARKER) {
            return FetchError::PrivateAddress(url.to_owned());
        }
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    if e.is_timeout() {
        reason = "timed out".into();
    }
    FetchError::Network {
        url: url.to_owned(),
        reason,
    }
}

const PRIVATE_MARKER: &str = "resolves only to private or reserved addresses";

fn literal_is_private(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        _ => false,
    }
}

/// Resolves with the system resolver and keeps only public addresses.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} {PRIVATE_MARKER}").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// True for globally routable unicast addresses; false for loopback, private, link-local (incl.
/// the 169.254.169.254 metadata service), CGNAT, multicast, documentation and reserved ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|s| *s == 0) {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || seg[..6].iter().all(|s| *s == 0)) // IPv4-compatible and other ::/96 forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    /// A loopback server (the opt-in is on): `/hop/N` redirects to `/hop/N-1`, `/hop/0` answers
    /// 10 KiB, `/stream` answers 10 KiB without a length.
    async fn local_server() -> String {
        use axum::extract::Path;
        use axum::response::{IntoResponse, Redirect};
        use axum::routing::get;
        let app = axum::Router::new()
            .route(
                "/hop/{n}",
                get(|Path(n): Path<u32>| async move {
                    if n == 0 {
                        vec![7u8; 10 * 1024].into_response()
                    } else {
                        Redirect::temporary(&format!("/hop/{}", n - 1)).into_response()
                    }
                }),
            )
            .route(
                "/stream",
                get(|| async {
                    let chunks = futures::stream::iter(
                        (0..10).map(|_| Ok::<_, std::io::Error>(vec![1u8; 1024])),
                    );
                    axum::body::Body::from_stream(chunks)
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    #[tokio::test]
    async fn redirects_are_limited_and_sizes_capped() {
        let base = local_server().await;
        let out = Outbound::new(NetPolicy {
            allow_private: true,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        });
        assert_eq!(
            out.fetch(&format!("{base}/hop/5"), 1 << 20)
                .await
                .unwrap()
                .len(),
            10 * 1024
        );
        let too_many = out.fetch(&format!("{base}/hop/6"), 1 << 20).await;
        assert!(
            matches!(&too_many, Err(FetchError::Network { reason, .. }) if reason.contains("too many redirects")),
            "{too_many:?}"
        );
        assert!(matches!(
            out.fetch(&format!("{base}/hop/0"), 1000).await,
            Err(FetchError::TooLarge { max: 1000, .. })
        ));
        assert!(matches!(
            out.fetch(&format!("{base}/stream"), 5000).await,
            Err(FetchError::TooLarge { .. })
        ));
        assert_eq!(
            out.fetch(&format!("{base}/stream"), 20_000)
                .await
                .unwrap()
                .len(),
            10 * 1024
        );
        assert!(matches!(
            out.fetch(&format!("{base}/nope"), 10).await,
            Err(FetchError::Status { status: 404, .. })
        ));
    }

    #[tokio::test]
    async fn literal_private_urls_are_refused_before_any_request() {
        let out = Outbound::new(NetPolicy {
            allow_private: false,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
        });
        for url in [
            "http://127.0.0.1:1/x.png",
            "http://[::1]:1/x",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(out.fetch(url, 10).await, Err(FetchError::PrivateAddress(_))),
                "{url}"
            );
        }
        assert!(matches!(
            out.fetch("file:///etc/passwd", 10).await,
            Err(FetchError::BadUrl(_))
        ));
        // A name that resolves to loopback is refused after resolution.
        assert!(matches!(
            out.fetch("http://localhost:1/x.png", 10).await,
            Err(FetchError::PrivateAddress(_))
        ));
    }
}
