//! The DNS resolver every connection goes through. The address check runs here, after
//! resolution, so neither a redirect nor a DNS answer that changes between check and connect
//! (rebinding) can reach a private address.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::AddressCheck;

/// Raised by `PublicOnlyResolver` when no address of a name may be fetched.
#[derive(Debug, thiserror::Error)]
#[error("{host} {PRIVATE_MARKER}")]
pub(super) struct PrivateName {
    host: String,
}

pub(super) const PRIVATE_MARKER: &str = "resolves only to private or reserved addresses";

/// Resolves with the system resolver and keeps only the addresses `check` allows.
pub(super) struct PublicOnlyResolver {
    pub(super) check: AddressCheck,
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
