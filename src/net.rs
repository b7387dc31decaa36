//! Outbound HTTP policy, shared by every fetch i2v makes on a user's behalf (image_url,
//! last_image_url, audio_url, webhooks): timeouts (connect, first byte, whole request), a
//! minimum body rate, a size cap, a redirect limit, and refusal of private, loopback,
//! link-local, metadata and other special-purpose addresses unless the operator allows them.
//!
//! The address check happens in the DNS resolver the client uses for every connection, after
//! resolution, so neither a redirect nor a DNS answer that changes between check and connect
//! (rebinding) can reach a private address. IP-literal hosts never reach the resolver, so they
//! are checked on the URL itself, for the first request and for every redirect.
//!
//! URLs may carry credentials (`user:password@`) and signed query strings, so no `FetchError`
//! shows either: URLs are shown as scheme, host and path, and reasons taken from the HTTP
//! library are scrubbed of anything URL-shaped and of the request's own secrets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use tokio::time::Instant;

pub const MAX_REDIRECTS: usize = 5;

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

/// Decides whether an address may be fetched; `is_public` outside tests.
type AddressCheck = fn(IpAddr) -> bool;

/// An HTTP client that obeys `NetPolicy`.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
    literal_is_public: AddressCheck,
    first_byte_timeout: Duration,
    min_bytes_per_sec: u64,
    rate_window: Duration,
}

impl Outbound {
    pub fn new(policy: NetPolicy) -> Outbound {
        Outbound::with_checks(policy, is_public, is_public)
    }

    /// `literal` judges IP-literal hosts (first URL and redirects), `resolved` judges DNS
    /// answers. Tests, which can only reach loopback, pass stand-ins to play a public host.
    fn with_checks(policy: NetPolicy, literal: AddressCheck, resolved: AddressCheck) -> Outbound {
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

    /// Reads the body under the size cap and the minimum rate. The rate is checked over
    /// consecutive windows (each starting when the previous one is judged), so a pause shorter
    /// than a window is fine as long as the window's total is.
    async fn read_body(
        &self,
        resp: reqwest::Response,
        url: &url::Url,
        shown: String,
        max_bytes: u64,
    ) -> Result<Bytes, FetchError> {
        let rate_checked = self.min_bytes_per_sec > 0 && !self.rate_window.is_zero();
        let required = self.min_bytes_per_sec as f64 * self.rate_window.as_secs_f64();
        let too_slow = || FetchError::Network {
            url: shown.clone(),
            reason: format!(
                "sent fewer than {} bytes/s over {}",
                self.min_bytes_per_sec,
                show_duration(self.rate_window)
            ),
        };
        let mut body = BytesMut::new();
        let mut stream = resp.bytes_stream();
        let mut window_start = Instant::now();
        let mut window_bytes: u64 = 0;
        loop {
            // `None` (an unrepresentable deadline) means no rate check for this window.
            let deadline = rate_checked
                .then(|| window_start.checked_add(self.rate_window))
                .flatten();
            let next = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        if (window_bytes as f64) < required {
                            return Err(too_slow());
                        }
                        window_start = Instant::now();
                        window_bytes = 0;
                        continue;
                    }
                },
                None => stream.next().await,
            };
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| classify(url, &shown, e))?;
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(FetchError::TooLarge {
                    url: shown,
                    max: max_bytes,
                });
            }
            body.extend_from_slice(&chunk);
            window_bytes = window_bytes.saturating_add(chunk.len() as u64);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if (window_bytes as f64) < required {
                    return Err(too_slow());
                }
                window_start = Instant::now();
                window_bytes = 0;
            }
        }
        Ok(body.freeze())
    }
}

fn show_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Why the redirect policy stopped following. Typed so that `classify` can tell a private
/// target (permanent) from the rest without matching on text.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum RedirectRefusal {
    #[error("too many redirects")]
    TooMany,
    #[error("redirect to a non-http URL")]
    NotHttp,
    /// Holds the redacted target.
    #[error("redirect to a private address ({0})")]
    Private(String),
}

/// The redirect decision, given the target and how many URLs were requested so far.
fn redirect_refusal(
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

/// Raised by `PublicOnlyResolver` when no address of a name may be fetched.
#[derive(Debug, thiserror::Error)]
#[error("{host} {PRIVATE_MARKER}")]
struct PrivateName {
    host: String,
}

const PRIVATE_MARKER: &str = "resolves only to private or reserved addresses";

/// URLs may carry credentials or signed query strings; errors show only scheme, host and path.
fn redact_url(url: &url::Url) -> String {
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
fn redact_raw(raw: &str) -> String {
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
fn scrub(text: &str, url: &url::Url) -> String {
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

fn classify(url: &url::Url, shown: &str, e: reqwest::Error) -> FetchError {
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

fn literal_is_private(url: &url::Url, is_public: AddressCheck) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        _ => false,
    }
}

/// Resolves with the system resolver and keeps only the addresses `check` allows.
struct PublicOnlyResolver {
    check: AddressCheck,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let check = self.check;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| check(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(PrivateName { host }) as _);
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// True for addresses a fetch may reach: globally routable unicast. False for loopback,
/// private, link-local (incl. the 169.254.169.254 metadata service), CGNAT, multicast,
/// documentation, benchmarking, translation and tunnelling ranges whose embedded IPv4 address
/// is not public, and every reserved range.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Checked against the IANA "IPv4 Special-Purpose Address Registry" and the "IPv4 Multicast
/// Address Space Registry". The registry marks a few blocks globally reachable (192.0.0.9/32
/// PCP anycast and 192.0.0.10/32 TURN anycast inside 192.0.0.0/24, AS112 192.31.196.0/24 and
/// 192.175.48.0/24, AMT 192.52.193.0/24); the first two are refused with the rest of their /24
/// because they are protocol anycast services, never an image host.
fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" 0.0.0.0/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT) 100.64/10
        || ip.is_loopback() // 127/8
        || ip.is_link_local() // 169.254/16, cloud metadata
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || ip.is_documentation() // TEST-NET-1/2/3: 192.0.2/24, 198.51.100/24, 203.0.113/24
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast 192.88.99/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || ip.is_multicast() // 224/4
        || a >= 240) // reserved 240/4, limited broadcast 255.255.255.255
}

/// Checked against the IANA "IPv6 Special-Purpose Address Registry" and "Internet Protocol
/// Version 6 Address Space" registry. Only global unicast 2000::/3 is assigned for routing;
/// everything else (::/8 with loopback, unspecified and IPv4-compatible addresses, 100::/64
/// discard-only, 5f00::/16 SRv6 SIDs, fc00::/7 unique local, fe80::/10 link-local, fec0::/10
/// deprecated site-local, ff00::/8 multicast, 64:ff9b:1::/48 local-use NAT64, and the unassigned
/// rest) is refused, except two forms that carry an IPv4 address a connection really goes to:
/// IPv4-mapped ::ffff:0:0/96 and well-known NAT64 64:ff9b::/96, judged by that address.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|s| *s == 0) {
        return is_public_v4(embedded(seg[6], seg[7]));
    }
    if seg[0] & 0xe000 != 0x2000 {
        return false;
    }
    // Inside 2000::/3:
    if seg[0] == 0x2001 && seg[1] < 0x0200 {
        // IETF protocol assignments 2001::/23: Teredo 2001::/32 (an obfuscated IPv4 address
        // that may be private), benchmarking 2001:2::/48, ORCHID 2001:10::/28, ORCHIDv2
        // 2001:20::/28, drone DETs 2001:30::/28. The globally reachable blocks in it (PCP, TURN
        // and DNS-SD anycast 2001:1::1-3, AMT 2001:3::/32, AS112 2001:4:112::/48) are protocol
        // services or identifiers, never an image host, so the whole /23 is refused.
        return false;
    }
    if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        return false; // documentation 2001:db8::/32
    }
    if seg[0] == 0x3fff && seg[1] < 0x1000 {
        return false; // documentation 3fff::/20
    }
    if seg[0] == 0x2002 {
        // 6to4 2002::/16 routes to the IPv4 address in bits 16..48.
        return is_public_v4(embedded(seg[1], seg[2]));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_purpose_ipv4_ranges_are_not_public() {
        // Pairs of (first and last address of a range) with neighbours just outside.
        for inside in [
            "0.0.0.0",
            "0.255.255.255", // this network 0/8
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255", // CGNAT
            "127.0.0.1",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.169.254",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.9",
            "192.0.0.170",
            "192.0.0.255", // IETF protocol assignments
            "192.0.2.0",
            "192.0.2.255", // TEST-NET-1
            "192.88.99.0",
            "192.88.99.2",
            "192.88.99.255", // 6to4 relay anycast
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255", // benchmarking
            "198.51.100.0",
            "198.51.100.255", // TEST-NET-2
            "203.0.113.0",
            "203.0.113.255", // TEST-NET-3
            "224.0.0.0",
            "239.255.255.255", // multicast
            "240.0.0.0",
            "255.255.255.254",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(inside)), "{inside} must be refused");
        }
        for outside in [
            "1.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "191.255.255.255",
            "192.0.1.0",
            "192.0.3.0",
            "192.88.98.255",
            "192.88.100.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            // Globally reachable per the registry.
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
            "8.8.8.8",
            "1.1.1.1",
        ] {
            assert!(is_public(ip(outside)), "{outside} must be allowed");
        }
    }

    #[test]
    fn special_purpose_ipv6_ranges_are_not_public() {
        for inside in [
            "::",
            "::1",
            "::2",
            "::127.0.0.1", // IPv4-compatible (deprecated)
            "::8.8.8.8",
            "::ffff:127.0.0.1", // IPv4-mapped, judged by the IPv4 address
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1", // NAT64 of 10.0.0.1
            "64:ff9b::c000:201",
            "64:ff9b::7f00:1",
            "64:ff9b:1::", // local-use NAT64 64:ff9b:1::/48
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            "100::", // discard-only 100::/64
            "100::ffff:ffff:ffff:ffff",
            "100:0:0:1::1", // dummy prefix, right after it
            "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001::",                               // Teredo 2001::/32
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo example (RFC 4380)
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:1::1", // PCP anycast
            "2001:2::1", // benchmarking
            "2001:3::1", // AMT
            "2001:4:112::1",
            "2001:10::1", // ORCHID
            "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:20::1", // ORCHIDv2
            "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:30::1",
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", // end of 2001::/23
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", // documentation
            "2002:7f00:1::1",                         // 6to4 of 127.0.0.1
            "2002:a00:1::",                           // 6to4 of 10.0.0.1
            "2002:a9fe:a9fe::",                       // 6to4 of 169.254.169.254
            "2002:c0a8:101:ffff:ffff:ffff:ffff:ffff",
            "2002::", // 6to4 of 0.0.0.0
            "3fff::", // documentation 3fff::/20
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            "4000::",
            "5f00::1", // SRv6 SIDs 5f00::/16
            "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::1", // unique local fc00::/7
            "fd00:ec2::254",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::1", // link-local fe80::/10
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fec0::1", // site-local fec0::/10 (deprecated)
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff02::1", // multicast
            "ff0e::1",
        ] {
            assert!(!is_public(ip(inside)), "{inside} must be refused");
        }
        for outside in [
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2000::1",
            "2001:200::1", // just after 2001::/23
            "2001:4860:4860::8888",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::1",
            "2002:808:808::1", // 6to4 of 8.8.8.8
            "2003::1",
            "2606:4700::1111",
            "2620:4f:8000::1", // AS112 direct delegation, globally reachable
            "3ffe:ffff::1",
            "3fff:1000::1", // just after 3fff::/20
            "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(is_public(ip(outside)), "{outside} must be allowed");
        }
    }

    fn loopback_policy() -> NetPolicy {
        NetPolicy {
            allow_private: true,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
            first_byte_timeout: Duration::from_secs(10),
            ..NetPolicy::default()
        }
    }

    /// A loopback server (the opt-in is on): `/hop/N` redirects to `/hop/N-1`, `/hop/0` answers
    /// 10 KiB, `/stream` answers 10 KiB without a length, `/loop` redirects to itself keeping
    /// its query, `/to?URL` redirects to URL, `/silent` never answers, `/drip/N` sends N bytes
    /// one every 50 ms, `/burst` sends 4 x 64 KiB with 200 ms pauses.
    async fn local_server() -> String {
        use axum::extract::{Path, RawQuery};
        use axum::response::{IntoResponse, Redirect};
        use axum::routing::{any, get};
        let app =
            axum::Router::new()
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
                )
                .route(
                    "/loop",
                    get(|RawQuery(q): RawQuery| async move {
                        Redirect::temporary(&format!("/loop?{}", q.unwrap_or_default()))
                    }),
                )
                .route(
                    "/to",
                    get(|RawQuery(q): RawQuery| async move {
                        Redirect::temporary(&q.unwrap_or_default())
                    }),
                )
                .route(
                    "/silent",
                    any(|| async {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                        "too late"
                    }),
                )
                .route(
                    "/drip/{n}",
                    get(|Path(n): Path<u32>| async move {
                        let chunks = futures::stream::unfold(0u32, move |sent| async move {
                            if sent == n {
                                return None;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((Ok::<_, std::io::Error>(vec![1u8]), sent + 1))
                        });
                        axum::body::Body::from_stream(chunks)
                    }),
                )
                .route(
                    "/burst",
                    get(|| async {
                        let chunks = futures::stream::unfold(0u32, |sent| async move {
                            if sent == 4 {
                                return None;
                            }
                            if sent > 0 {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                            Some((Ok::<_, std::io::Error>(vec![2u8; 64 * 1024]), sent + 1))
                        });
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
        let out = Outbound::new(loopback_policy());
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
    async fn a_host_that_never_answers_fails_at_the_first_byte_timeout() {
        let base = local_server().await;
        // The whole-request timeout (30 s) is far away: only the first-byte one can fire.
        let out = Outbound::new(NetPolicy {
            first_byte_timeout: Duration::from_secs(1),
            ..loopback_policy()
        });
        let got = tokio::time::timeout(
            Duration::from_secs(20),
            out.fetch(&format!("{base}/silent"), 1 << 20),
        )
        .await
        .expect("the first-byte timeout fires long before the whole-request one");
        match got {
            Err(e @ FetchError::Network { .. }) => {
                assert!(e.is_transient());
                assert!(e.to_string().contains("no answer within 1s"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // Webhooks too.
        let posted = tokio::time::timeout(
            Duration::from_secs(20),
            out.post_json(&format!("{base}/silent"), &serde_json::json!({"a": 1})),
        )
        .await
        .expect("the first-byte timeout applies to webhooks");
        assert!(
            matches!(&posted, Err(FetchError::Network { reason, .. }) if reason == "no answer within 1s"),
            "{posted:?}"
        );
    }

    #[tokio::test]
    async fn a_trickling_body_fails_the_minimum_rate() {
        let base = local_server().await;
        let out = Outbound::new(NetPolicy {
            min_bytes_per_sec: 1000,
            rate_window: Duration::from_secs(2),
            ..loopback_policy()
        });
        // 20 bytes/s for 10 s: under the rate, inside the 30 s whole-request timeout.
        let got = tokio::time::timeout(
            Duration::from_secs(20),
            out.fetch(&format!("{base}/drip/200"), 1 << 20),
        )
        .await
        .expect("the rate check fires before the drip ends");
        match got {
            Err(e @ FetchError::Network { .. }) => {
                assert!(e.is_transient());
                assert!(
                    e.to_string()
                        .contains("sent fewer than 1000 bytes/s over 2s"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A body that ends before the first window closes is not judged on a partial window.
        assert_eq!(
            out.fetch(&format!("{base}/drip/5"), 100)
                .await
                .unwrap()
                .len(),
            5
        );
        // Pauses are fine when each window's total meets the rate.
        assert_eq!(
            out.fetch(&format!("{base}/burst"), 1 << 20)
                .await
                .unwrap()
                .len(),
            4 * 64 * 1024
        );
        // 0 turns the check off.
        let unchecked = Outbound::new(NetPolicy {
            min_bytes_per_sec: 0,
            rate_window: Duration::from_secs(1),
            ..loopback_policy()
        });
        assert_eq!(
            unchecked
                .fetch(&format!("{base}/drip/30"), 100)
                .await
                .unwrap()
                .len(),
            30
        );
    }

    #[tokio::test]
    async fn literal_private_urls_are_refused_before_any_request() {
        let out = Outbound::new(NetPolicy {
            allow_private: false,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            ..NetPolicy::default()
        });
        for url in [
            "http://127.0.0.1:1/x.png",
            "http://[::1]:1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[fec0::1]/x",
            "http://[2002:a9fe:a9fe::1]/latest/meta-data",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",
        ] {
            let got = out.fetch(url, 10).await;
            assert!(matches!(got, Err(FetchError::PrivateAddress(_))), "{url}");
            let e = got.unwrap_err();
            assert!(!e.is_transient());
            assert!(e.to_string().contains("--allow-private-urls"), "{e}");
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

    /// Loopback plays the public host here (127.0.0.1 only, as a literal); every other literal
    /// and every DNS answer counts as private, which is how a real deployment sees a redirect
    /// from a public host to 10.0.0.1 or to a name that resolves privately.
    #[tokio::test]
    async fn a_redirect_to_a_private_address_is_a_permanent_private_address_error() {
        let base = local_server().await;
        let port = base.rsplit(':').next().unwrap().to_owned();
        let out = Outbound::with_checks(
            NetPolicy {
                allow_private: false,
                ..loopback_policy()
            },
            |ip| ip == IpAddr::V4(Ipv4Addr::LOCALHOST),
            |_| false,
        );
        // The stand-in public host is reachable, redirects included.
        assert_eq!(
            out.fetch(&format!("{base}/hop/2"), 1 << 20)
                .await
                .unwrap()
                .len(),
            10 * 1024
        );
        for target in [
            format!("http://127.0.0.2:{port}/hop/0"),
            format!("http://[::1]:{port}/hop/0"),
            "http://10.0.0.1/x.png".to_owned(),
            "http://169.254.169.254/latest/meta-data".to_owned(),
            format!("http://localhost:{port}/hop/0"),
        ] {
            let got = out.fetch(&format!("{base}/to?{target}"), 1 << 20).await;
            match got {
                Err(e @ FetchError::PrivateAddress(_)) => {
                    assert!(!e.is_transient(), "{e}");
                    assert!(e.to_string().contains("--allow-private-urls"), "{e}");
                }
                other => panic!("{target}: {other:?}"),
            }
        }
        // Through a few hops first.
        let chained = format!("{base}/to?{base}/to?http://10.1.2.3/x");
        assert!(
            matches!(
                out.fetch(&chained, 1 << 20).await,
                Err(FetchError::PrivateAddress(_))
            ),
            "{chained}"
        );
    }

    #[tokio::test]
    async fn errors_never_show_credentials_or_query_strings() {
        const PASSWORD: &str = "S3cr3tPass";
        const SIGNATURE: &str = "Zm9vYmFyc2lnbmF0dXJl";
        let base = local_server().await;
        let authority = base.trim_start_matches("http://").to_owned();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let secret_url = |authority: &str, path: &str| {
            format!(
                "http://alice:{PASSWORD}@{authority}{path}?X-Amz-Signature={SIGNATURE}&X-Amz-Credential=AKIA{SIGNATURE}#frag{SIGNATURE}"
            )
        };
        let out = Outbound::new(loopback_policy());
        let quick = Outbound::new(NetPolicy {
            timeout: Duration::from_secs(1),
            ..loopback_policy()
        });
        let silent_first_byte = Outbound::new(NetPolicy {
            first_byte_timeout: Duration::from_secs(1),
            ..loopback_policy()
        });
        let slow = Outbound::new(NetPolicy {
            min_bytes_per_sec: 1000,
            rate_window: Duration::from_secs(1),
            ..loopback_policy()
        });
        let strict = Outbound::new(NetPolicy {
            allow_private: false,
            ..loopback_policy()
        });
        let public_loopback = Outbound::with_checks(
            NetPolicy {
                allow_private: false,
                ..loopback_policy()
            },
            |ip| ip == IpAddr::V4(Ipv4Addr::LOCALHOST),
            |_| false,
        );
        let redirect_to_private = format!(
            "{}?http://bob:{PASSWORD}@10.0.0.1/x?sig={SIGNATURE}",
            secret_url(&authority, "/to").split('?').next().unwrap()
        );
        let mut errors = vec![
            out.fetch(
                &secret_url(&format!("127.0.0.1:{closed}"), "/img.png"),
                1 << 20,
            )
            .await,
            out.fetch(&secret_url(&authority, "/nope"), 1 << 20).await,
            quick
                .fetch(&secret_url(&authority, "/silent"), 1 << 20)
                .await,
            silent_first_byte
                .fetch(&secret_url(&authority, "/silent"), 1 << 20)
                .await,
            out.fetch(&secret_url(&authority, "/hop/0"), 100).await,
            out.fetch(&secret_url(&authority, "/stream"), 100).await,
            out.fetch(&secret_url(&authority, "/loop"), 1 << 20).await,
            slow.fetch(&secret_url(&authority, "/drip/100"), 1 << 20)
                .await,
            strict.fetch(&secret_url("127.0.0.1", "/x"), 1 << 20).await,
            strict
                .fetch(&secret_url("localhost:1", "/x"), 1 << 20)
                .await,
            public_loopback.fetch(&redirect_to_private, 1 << 20).await,
            out.fetch(&secret_url("[::1", "/x"), 1 << 20).await,
            out.fetch(
                &secret_url(&authority, "/x").replace("http", "ftp"),
                1 << 20,
            )
            .await,
            out.fetch(&format!("alice:{PASSWORD}@host/x?sig={SIGNATURE}"), 1 << 20)
                .await,
        ]
        .into_iter()
        .map(|r| r.unwrap_err())
        .collect::<Vec<_>>();
        errors.push(
            out.post_json(
                &secret_url(&format!("127.0.0.1:{closed}"), "/hook"),
                &serde_json::json!({}),
            )
            .await
            .unwrap_err(),
        );
        // Every failure mode is exercised, not just one of them many times.
        let kinds = |f: fn(&FetchError) -> bool| errors.iter().filter(|e| f(e)).count();
        assert!(kinds(|e| matches!(e, FetchError::Network { .. })) >= 6);
        assert!(kinds(|e| matches!(e, FetchError::Status { .. })) >= 1);
        assert!(kinds(|e| matches!(e, FetchError::TooLarge { .. })) >= 2);
        assert!(kinds(|e| matches!(e, FetchError::PrivateAddress(_))) >= 3);
        assert!(kinds(|e| matches!(e, FetchError::BadUrl(_))) >= 2);
        for e in &errors {
            for shown in [e.to_string(), format!("{e:?}")] {
                assert!(!shown.contains(PASSWORD), "{shown}");
                assert!(!shown.contains(SIGNATURE), "{shown}");
                assert!(!shown.contains("alice"), "{shown}");
                assert!(!shown.contains("X-Amz"), "{shown}");
            }
        }
    }

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
