//! Credentials seen recently, so that an authenticated request needs no store round trip to
//! learn who is calling: on PostgreSQL that is a network round trip per request, on SQLite a
//! hand-off to a connection thread, and for `resultsByIds` half of the store work.
//!
//! Entries live `auth.cache_ttl_ms` (0 turns the cache off). A ban, unban or secret rotation made
//! through this process empties the cache before it is answered; another process sharing the
//! database sees such a change within the TTL. Unknown keys are never cached, so a new account's
//! key works at once.
//!
//! A plain cache in front of the store, held by `App`: `service::auth` reads through it and
//! `service::accounts` clears it.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use moka::sync::Cache;

use crate::store::AuthRecord;

/// Most credentials kept; beyond that the least used go first.
const CAPACITY: u64 = 100_000;

/// How a caller proved who it is.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Credential {
    /// SHA-256 of an API key.
    KeyHash(String),
    /// The account a verified bearer token names.
    Uid(i64),
}

pub struct AuthCache {
    entries: Option<Cache<Credential, AuthRecord>>,
    /// Bumped by every `clear`. A lookup that started before a clear must not put its (maybe
    /// stale) record in after it, so `remember` checks the generation it started in, under this
    /// lock, which `clear` holds too.
    generation: Mutex<u64>,
}

/// Taken before reading the store; `remember` needs it.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        let entries = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build()
        });
        AuthCache {
            entries,
            generation: Mutex::new(0),
        }
    }

    /// The lock only guards a counter, so a panic while it was held leaves nothing half-done.
    fn lock_generation(&self) -> MutexGuard<'_, u64> {
        self.generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, credential: &Credential) -> Option<AuthRecord> {
        self.entries.as_ref()?.get(credential)
    }

    /// Call before reading the store for a credential not in the cache.
    pub fn ticket(&self) -> Ticket {
        Ticket(*self.lock_generation())
    }

    /// Keeps what the store said, unless the cache was cleared since `ticket` was taken.
    pub fn remember(&self, ticket: Ticket, credential: Credential, record: AuthRecord) {
        let Some(entries) = &self.entries else { return };
        let generation = self.lock_generation();
        if *generation == ticket.0 {
            entries.insert(credential, record);
        }
    }

    /// Forgets everything; call after any change to who may authenticate, before answering.
    pub fn clear(&self) {
        let mut generation = self.lock_generation();
        *generation += 1;
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(banned: bool) -> AuthRecord {
        AuthRecord {
            uid: 7,
            team_id: "t".into(),
            client_id: "c".into(),
            secret_hash: "h".into(),
            banned,
            clock_offset_ms: 0,
            api_faults: false,
        }
    }

    fn key() -> Credential {
        Credential::KeyHash("h".into())
    }

    #[test]
    fn remembers_until_cleared() {
        let cache = AuthCache::new(Duration::from_secs(60));
        assert!(cache.get(&key()).is_none());
        cache.remember(cache.ticket(), key(), record(false));
        assert!(!cache.get(&key()).unwrap().banned);
        cache.clear();
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn a_lookup_that_started_before_a_clear_is_not_kept() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let ticket = cache.ticket();
        // The store said "not banned", then a ban committed and cleared the cache.
        cache.clear();
        cache.remember(ticket, key(), record(false));
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = AuthCache::new(Duration::from_millis(30));
        cache.remember(cache.ticket(), key(), record(false));
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        cache.remember(cache.ticket(), key(), record(false));
        assert!(cache.get(&key()).is_none());
    }
}
