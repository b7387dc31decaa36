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

pub use address::is_public;
pub use error::FetchError;
pub use outbound::{NetPolicy, Outbound};
pub use redirect::MAX_REDIRECTS;
