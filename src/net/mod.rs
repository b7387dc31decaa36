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

mod address;
mod body;
mod error;
mod outbound;
mod redact;
mod redirect;
mod resolver;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use address::is_public;
pub use error::FetchError;
pub use outbound::Outbound;
pub use redirect::MAX_REDIRECTS;

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
