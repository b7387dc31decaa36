//! Use-cases. Each function takes validated domain values, talks to the store and the files,
//! and returns domain results or a `ServiceError`; only `api` turns those into Akool JSON.

pub mod accounts;
pub mod auth;
pub mod emulation;
mod error;
pub mod faults;
mod seed;
pub mod videos;

pub use error::ServiceError;

/// The authenticated account a request acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub uid: i64,
    pub team_id: String,
}
