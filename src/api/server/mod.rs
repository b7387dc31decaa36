//! The accept loop: the router served by hyper with what `axum::serve` lacks on a public
//! server: a header-read timeout, an idle keep-alive timeout, a request-body timeout, a stall
//! timeout for clients that stop reading, and a cap on open connections.
//!
//! hyper's own `header_read_timeout` is not used: it restarts the moment a keep-alive connection
//! goes idle, so it would close every idle connection after the header timeout and leave no room
//! for a longer idle timeout. Instead each connection has a watchdog ([`watchdog::Activity`]) that knows
//! whether a request is in flight (the service sees it start; dropping the response body ends
//! it) and when the client started sending its next request (the IO wrapper sees reads).
//!
//! At the cap the loop stops accepting instead of accepting and closing: waiting clients sit in
//! the kernel's listen backlog and are served as soon as a slot frees, and slots held by slow
//! clients free within the header timeout. Accepting and closing would turn every attack into
//! errors for real clients too, and would still spend a descriptor per attempt.

mod accept;
mod body_timeout;
mod connection;
mod limits;
mod watchdog;
mod watched_io;

pub use accept::serve;
pub use connection::CloseWithoutAnswer;
pub use limits::{raise_open_file_limit, Limits};
